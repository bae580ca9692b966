#include "cli/commands.hpp"

#include <chrono>
#include <ostream>
#include <streambuf>
#include <string_view>

#include <fmt/format.h>

#include "base/log.hpp"
#include "cli/args.hpp"
#include "cli/command_support.hpp"
#include "cli/config.hpp"
#include "cli/preflight.hpp"
#include "cli/run_summary.hpp"
#include "pipeline/frame_filters.hpp"

namespace kb::cli {

namespace {

// Copies what is written to `err` into a string as well: the run summary's errors are the lines
// the run printed, whichever path failed.
class tee_buf : public std::streambuf {
 public:
  explicit tee_buf(std::streambuf* to) : to_(to) {}
  [[nodiscard]] const std::string& text() const noexcept { return text_; }

 protected:
  int_type overflow(int_type ch) override {
    if (traits_type::eq_int_type(ch, traits_type::eof())) return traits_type::not_eof(ch);
    if (text_.size() < kept_bytes) text_.push_back(traits_type::to_char_type(ch));
    return to_->sputc(traits_type::to_char_type(ch));
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    if (text_.size() < kept_bytes) text_.append(s, static_cast<std::size_t>(n));
    return to_->sputn(s, n);
  }
  int sync() override { return to_->pubsync(); }

 private:
  std::streambuf* to_;
  static constexpr std::size_t kept_bytes = std::size_t{64} * 1024;  ///< kept of the stream (a summary holds 4096)
  std::string text_;
};

std::vector<std::string> error_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (const auto cr = line.rfind('\r'); cr != std::string::npos) line.erase(0, cr + 1);  // progress redraws
    if (!line.empty()) lines.push_back(std::move(line));
    start = end + 1;
  }
  return lines;
}

int run_with_summary(const config& cfg, const parsed_args& args, std::ostream& out, std::ostream& err) {
  const auto path = summary_path(args.global.summary_file);
  if (!path) {
    return args.cmd == command::backup ? run_backup(cfg, args, out, err) : run_restore(cfg, args, out, err);
  }
  tee_buf buf(err.rdbuf());
  std::ostream tee(&buf);
  run_summary s;
  s.command = std::string(command_name(args.cmd));
  s.backup_id = cfg.backup_id;
  const auto started = std::chrono::steady_clock::now();
  const int code = args.cmd == command::backup ? run_backup(cfg, args, out, tee, &s) : run_restore(cfg, args, out, tee, &s);
  tee.flush();
  s.exit_code = code;
  s.duration_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (code != 0) s.errors = error_lines(buf.text());
  if (auto w = write_run_summary(*path, render_run_summary(s)); !w) {
    kb::log::warn("{}", w.error().message);  // the run's own outcome stands
  }
  return code;
}

}  // namespace

int run(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err,
        const env_lookup& env) {
  auto parsed = parse_args(argv);
  if (!parsed) {
    print_error(err, parsed.error().message);
    return static_cast<int>(kb::exit_code::usage);
  }
  const parsed_args& args = *parsed;
  apply_logging(args.global, nullptr);
  pipeline::install_frame_filters();

  if (args.help) {
    out << (args.cmd == command::none ? usage_text() : command_usage(args.cmd));
    return 0;
  }
  if (args.version) {
    out << "kafka-backup " << KB_VERSION << '\n';
    return 0;
  }

  switch (args.cmd) {
    case command::config: {
      auto cfg = load(args, err, env);
      if (!cfg) return static_cast<int>(kb::exit_code::usage);
      // The same checks as the command of the config's mode, so `config` passes only what it runs.
      if (auto ok = check_runnable(*cfg); !ok) return report(err, ok.error());
      out << (args.format == "json" ? to_json(*cfg) : to_yaml(*cfg));
      return 0;
    }
    case command::backup:
    case command::restore: {
      auto cfg = load(args, err, env);
      if (!cfg) return static_cast<int>(kb::exit_code::usage);
      const auto wanted = args.cmd == command::backup ? job_kind::backup : job_kind::restore;
      if (cfg->mode != wanted) {
        print_error(err, fmt::format(
            "{}: mode is {} but the command is '{}'; set mode: {} or run 'kafka-backup "
            "{}'",
            cfg->file, to_string(cfg->mode), command_name(args.cmd), to_string(wanted),
            to_string(cfg->mode)));
        return static_cast<int>(kb::exit_code::usage);
      }
      if (auto ok = check_runnable(*cfg); !ok) return report(err, ok.error());
      return run_with_summary(*cfg, args, out, err);
    }
    case command::list:
      return run_list(args, out, err, env);
    case command::describe:
      return run_describe(args, out, err, env);
    case command::validate:
      return run_validate(args, out, err, env);
    case command::prune:
      return run_prune(args, out, err, env);
    case command::reset_offsets:
      return run_reset_offsets(args, out, err, env);
    case command::none:
      break;
  }
  err << usage_text();
  return static_cast<int>(kb::exit_code::usage);
}

}  // namespace kb::cli
