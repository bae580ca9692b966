#!/usr/bin/env python3
"""End-to-end benchmark: our backup/restore against reference Kafka clients on one harness broker.

Starts tests/harness/cluster.py (single profile with S3, Azurite and fake-gcs-server), loads seeded
deterministic datasets, then measures in the same run: kcat and ConsumerPerformance reading to
nowhere, ProducerPerformance and the kcat producer, and `kafka-backup backup` (filesystem, S3, Azure
Blob, GCS: bench/e2e/backends.py; none, lz4, zstd-1, zstd-3) and `restore`. Writes one JSON file
per measured run under --results-dir and prints a markdown table (median of --runs after one
warm-up, with min and max).

Log bytes: the size of the partition's *.log files in the broker's log dir after loading
(what the broker stores and serves), so every tool is judged on the same byte count.
Every loop is bounded in count and in time; the harness this script starts is stopped on exit.
Each dataset's topics and backup sets are deleted once it is measured (objects in a store right
after each run), so a full run needs disk for one dataset at a time.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import backends  # bench/e2e/backends.py, beside this file
from datasets import (DATASETS, MB, SIZES, STEP_TIMEOUT, create_ready_topic, drop_dataset, load_dataset, log,
                      log_bytes, record_count, zstd_stream_bytes)

REPO = Path(__file__).resolve().parents[2]
VENV_PY = Path.home() / ".cache/kafka-backup/venv/bin/python"
CLK_TCK = os.sysconf("SC_CLK_TCK")

BACKUP_CODECS = [("none", None), ("lz4", None), ("zstd", 1), ("zstd", 3)]
# --security modes: the harness listener each one uses (SCRAM-SHA-512 over TLS for sasl_ssl)
SECURITY = {"plaintext": "PLAINTEXT", "sasl_ssl": "SASL_SSL"}
PW_VAR = "KB_BENCH_SASL_PASSWORD"  # our tool reads the password from the environment, never a file


# ---- harness ------------------------------------------------------------------------------------

def harness(run_dir: Path, verb: str, stores: list[str] = ()) -> None:
    """Starts (with Azurite and fake-gcs-server if `stores` names them) or stops the harness."""
    # Azurite keeps blobs in memory and frees deleted ones only at its GC (every 10 minutes): room
    # for the runs of a 1 GB dataset in between.
    azure = ["--azurite", "--azurite-extent-mib", "8192"] if "azure" in stores else []
    up = ["--profile", "single", *azure, *(["--gcs"] if "gcs" in stores else [])]
    subprocess.run([str(VENV_PY), str(REPO / "tests/harness/cluster.py"), "--run-dir", str(run_dir), verb,
                    *(up if verb == "up" else [])], check=True, timeout=300)


def rdkafka_dir(tmp: Path) -> Path:
    """librdkafka.so.1 from the confluent-kafka wheel: Debian's kcat 2.0.2 lags behind (see harness README)."""
    import confluent_kafka
    libs = sorted((Path(confluent_kafka.__file__).parent.parent / "confluent_kafka.libs").glob("librdkafka-*.so.1"))
    d = tmp / "librdkafka"
    d.mkdir(exist_ok=True)
    link = d / "librdkafka.so.1"
    if libs and not link.exists():
        link.symlink_to(libs[0])
    return d


# (dataset, level) -> bytes of one plain zstd stream over the dataset's log files
ZSTD_REF: dict[tuple[str, int], int] = {}


# ---- measuring ----------------------------------------------------------------------------------

def proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14, 15)


def vm_hwm_kib(pid: int) -> int:
    """The process's own RSS high-water mark. wait4's ru_maxrss cannot be used alone: exec records
    the pre-exec (forked Python) RSS as a floor, so small tools would report this script's size."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def measure(cmd: list[str], env_extra: dict | None, broker_pid: int, stdout=subprocess.DEVNULL) -> dict:
    load = Path("/proc/loadavg").read_text().split()[:3]
    b0 = proc_cpu(broker_pid)
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE, env={**os.environ, **(env_extra or {})})
    deadline = t0 + STEP_TIMEOUT
    hwm_kib = 0
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        hwm_kib = max(hwm_kib, vm_hwm_kib(p.pid))
        if time.monotonic() > deadline:
            p.kill()
            pid, status, ru = os.wait4(p.pid, 0)
            break
        time.sleep(0.01)
    wall = time.monotonic() - t0
    err = p.stderr.read().decode(errors="replace") if p.stderr else ""
    rc = os.waitstatus_to_exitcode(status)
    return {"cmd": cmd[0].rsplit("/", 1)[-1], "rc": rc, "wall_s": wall, "cpu_s": ru.ru_utime + ru.ru_stime,
            "peak_rss_mib": hwm_kib / 1024,
            "ru_maxrss_mib": ru.ru_maxrss / 1024, "broker_cpu_s": proc_cpu(broker_pid) - b0,
            "loadavg_before": load, "stderr_tail": err[-600:] if rc != 0 else ""}


class Bench:
    def __init__(self, args, env: dict, tmp: Path, results: Path):
        self.args, self.env, self.tmp, self.results = args, env, tmp, results
        self.plain_bs = env["kafka"]["listeners"]["PLAINTEXT"]  # loading and admin work, never measured
        self.broker_pid = env["kafka"]["brokers"][0]["pid"]
        self.rows: list[dict] = []
        self.seq = 0
        self.variant = ""  # "-baseline" while the --baseline binary is measured: its own sets and topics
        self.backends = ["filesystem"] if args.smoke else [b for b in args.backends if backends.available(env, b)]
        missing = [b for b in args.backends if b not in self.backends and not args.smoke]
        if missing:
            log(f"backends not in the harness's env.json, not measured: {', '.join(missing)}")
        self.use_security("plaintext")

    def use_security(self, mode: str) -> None:
        """Points every measured tool at the listener of `mode`; the rows get a ' [mode]' suffix
        unless it is plaintext. The SCRAM password goes to kcat and the Java tools in 0600 files
        and to kafka-backup through the environment: never on a command line or in the results."""
        self.security = mode
        self.suffix = "" if mode == "plaintext" else f" [{mode}]"
        self.bs = self.env["kafka"]["listeners"][SECURITY[mode]]
        self.rdk = {"LD_LIBRARY_PATH": str(rdkafka_dir(self.tmp))}
        self.kcat_sec: list[str] = []
        self.java_sec: str | None = None
        self.ours_sec: dict | None = None
        if mode == "sasl_ssl":
            user, pw, ca = "admin", self.env["users"]["admin"], self.env["tls"]["ca"]
            conf = self.tmp / "kcat-sasl_ssl.conf"
            conf.write_text(f"security.protocol=SASL_SSL\nsasl.mechanisms=SCRAM-SHA-512\nsasl.username={user}\n"
                            f"sasl.password={pw}\nssl.ca.location={ca}\n")
            conf.chmod(0o600)
            self.kcat_sec = ["-F", str(conf)]
            self.java_sec = self.env["kafka"].get("command_configs", {}).get("admin")
            self.ours_sec = {"security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512", "sasl_username": user,
                             "sasl_password": "${" + PW_VAR + "}", "ssl_ca_location": ca}
        self.ours_env = {PW_VAR: self.env["users"]["admin"]} if self.ours_sec else None

    def cluster(self, topic: str) -> dict:
        """The source/target section of our config for the current security mode."""
        c = {"bootstrap_servers": [self.bs], "topics": {"include": [topic]}}
        if self.ours_sec:
            c["security"] = self.ours_sec
        return c

    def java(self, cls: str, *flags: str) -> list[str]:
        return [*self.env["kafka"]["java_tools"], f"org.apache.kafka.tools.{cls}", *flags] \
            if "java_tools" in self.env["kafka"] else ["java", "-cp", f"{self.env['kafka']['lib_dir']}/*",
                                                       f"org.apache.kafka.tools.{cls}", *flags]

    def repeat(self, dataset: str, tool: str, make_cmd, env_extra, nbytes: int, nrecords: int, stored=None,
               before=None) -> None:
        """One warm-up and --runs measured runs; `make_cmd(i)` builds the argv for run i."""
        samples = []
        for i in range(self.args.runs + 1):
            if before:
                try:
                    before(i)
                except Exception as e:  # noqa: BLE001 - a setup failure loses this run, not the others
                    log(f"{dataset} {tool} run {i}: setup failed, run skipped: {e}")
                    continue
            tool_label = tool + self.suffix
            m = measure(make_cmd(i), env_extra, self.broker_pid)
            m.update(dataset=dataset, tool=tool_label, security=self.security, run=i, warmup=i == 0, log_bytes=nbytes, records=nrecords,
                     mb_s=nbytes / MB / m["wall_s"], records_s=nrecords / m["wall_s"],
                     cpu_s_per_gb=m["cpu_s"] / (nbytes / 1e9), broker_cpu_s_per_gb=m["broker_cpu_s"] / (nbytes / 1e9),
                     stored_bytes=stored(i) if stored else None)
            self.seq += 1
            (self.results / f"{self.seq:03d}-{dataset}-{tool.replace(' ', '_')}-{self.security}-{i}.json").write_text(
                json.dumps(m, indent=2))
            if m["rc"] != 0:
                log(f"{dataset} {tool} run {i} failed rc={m['rc']}: {m['stderr_tail'][-300:]}")
            elif i > 0:
                samples.append(m)
        if samples:
            def med(k):
                return statistics.median(s[k] for s in samples)
            self.rows.append({"dataset": dataset, "tool": tool + self.suffix, "mb_s": med("mb_s"),
                              "mb_s_min": min(s["mb_s"] for s in samples), "mb_s_max": max(s["mb_s"] for s in samples),
                              "records_s": med("records_s"), "cpu_s_per_gb": med("cpu_s_per_gb"),
                              "broker_cpu_s_per_gb": med("broker_cpu_s_per_gb"),
                              "peak_rss_mib": max(s["peak_rss_mib"] for s in samples),
                              "stored_bytes": samples[-1]["stored_bytes"], "n": len(samples)})
        else:
            self.rows.append({"dataset": dataset, "tool": tool + self.suffix, "failed": True})

    # --- the tools ---
    def consumers(self, ds: str, topic: str, nbytes: int, n: int) -> None:
        self.repeat(ds, "kcat -C", lambda i: [
            "kcat", "-C", "-b", self.bs, *self.kcat_sec, "-t", topic, "-o", "beginning", "-e", "-q", "-f", "",
            "-X", "fetch.max.bytes=52428800", "-X", "max.partition.fetch.bytes=10485760",
            "-X", "queued.max.messages.kbytes=262144", "-X", "fetch.wait.max.ms=100"], self.rdk, nbytes, n)
        if self.args.no_java:
            return
        self.repeat(ds, "ConsumerPerformance", lambda i: self.java(
            "ConsumerPerformance", "--bootstrap-server", self.bs, "--topic", topic, "--messages", str(n),
            "--timeout", "60000", "--fetch-size", "10485760", "--group", f"bench-cp-{ds}-{self.security}-{i}",
            *(["--consumer.config", self.java_sec] if self.java_sec else [])), None, nbytes, n)

    def backups(self, ds: str, topic: str, nbytes: int, n: int) -> None:
        for codec, level in BACKUP_CODECS:
            label = codec if level is None else f"{codec}-{level}"
            for name in self.backends:
                if name != "filesystem" and self.args.s3_labels is not None and label not in self.args.s3_labels:
                    continue
                be = backends.Backend(name, self.env, self.tmp / "store")

                def bid(i, name=name, label=label):
                    return f"b-{ds}-{label}-{name}-{self.security}{self.variant}-{i}"

                def cmd(i, codec=codec, level=level, be=be, bid=bid):
                    backup = {"stop_at_current_offsets": True, "compression": codec}
                    if level is not None:
                        backup["compression_level"] = level
                    cfg = self.tmp / f"{bid(i)}.yaml"
                    cfg.write_text(json.dumps({"mode": "backup", "backup_id": bid(i), "source": self.cluster(topic),
                                               "storage": be.storage(bid(i)), "backup": backup}))
                    cfg.chmod(0o600)
                    return [self.args.binary, "--no-progress", "backup", "--config", str(cfg)]

                # Object stores: measured, then deleted (Azurite and fake-gcs-server hold them in memory).
                # The filesystem keeps every run's set until the last is measured; restore reads that one.
                def stored(i, be=be, bid=bid):
                    return be.stored(bid(i), free=be.name != "filesystem")

                self.repeat(ds, f"backup {name} {label}", cmd, {**(self.ours_env or {}), **be.env_extra()},
                            nbytes, n, stored)
                if name == "filesystem":  # free disk: keep only the last run's set
                    for i in range(self.args.runs):
                        shutil.rmtree(self.tmp / "store" / bid(i), ignore_errors=True)

    def restores(self, ds: str, topic: str, nbytes: int, n: int) -> None:
        bid = f"b-{ds}-none-filesystem-{self.security}{self.variant}-{self.args.runs}"
        store = self.tmp / "store" / bid
        if not store.exists():
            return

        def cmd(i):
            cfg = self.tmp / f"restore-{ds}-{self.security}{self.variant}-{i}.yaml"
            cfg.write_text(json.dumps({"mode": "restore", "backup_id": bid, "target": self.cluster(topic),
                                       "storage": {"backend": "filesystem", "path": str(store)},
                                       "restore": {"topic_mapping": {topic: f"{topic}-restored-{self.security}{self.variant}-{i}"}}}))
            cfg.chmod(0o600)
            return [self.args.binary, "--no-progress", "restore", "--config", str(cfg)]

        # The target topic is created (and ready) before the timed run, as for the producers
        # below: bringing up 1,000 partitions is not restore work and would dominate D6.
        from confluent_kafka.admin import AdminClient
        admin = AdminClient({"bootstrap.servers": self.plain_bs})
        parts = DATASETS[ds][1]
        self.repeat(ds, "restore (ours)", cmd, self.ours_env, nbytes, n,
                    before=lambda i: create_ready_topic(admin, f"{topic}-restored-{self.security}{self.variant}-{i}", parts))

    def producers(self, ds: str, topic: str, nbytes: int, n: int) -> None:
        size, parts, codec, _ = DATASETS[ds]
        from confluent_kafka.admin import AdminClient
        admin = AdminClient({"bootstrap.servers": self.plain_bs})
        sec = self.security

        def fresh(name):
            return lambda i: create_ready_topic(admin, f"{name}-{sec}-{i}", parts)
        if not self.args.no_java:
            self.repeat(ds, "ProducerPerformance", lambda i: self.java(
                "ProducerPerformance", "--topic", f"pp-{topic}-{sec}-{i}", "--num-records", str(n), "--record-size",
                str(size), "--throughput", "-1",
                *(["--producer.config", self.java_sec] if self.java_sec else []),
                "--producer-props", f"bootstrap.servers={self.bs}", "acks=all",
                "batch.size=1000000", "linger.ms=50", f"compression.type={codec}", "max.request.size=10485760"),
                None, nbytes, n, before=fresh(f"pp-{topic}"))
        if size <= 4096:
            lines = self.tmp / f"kcat-{ds}.txt"
            if not lines.exists():
                rng = random.Random(7)
                row = bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(size - 1)) + b"\n"
                with lines.open("wb") as f:
                    for _ in range(n):
                        f.write(row)
            self.repeat(ds, "kcat -P", lambda i: [
                "kcat", "-P", "-b", self.bs, *self.kcat_sec, "-t", f"kp-{topic}-{sec}-{i}", "-l", str(lines), "-X", "acks=all",
                "-X", "batch.size=1000000", "-X", "linger.ms=50", "-X", f"compression.codec={codec}"],
                self.rdk, nbytes, n, before=fresh(f"kp-{topic}"))


def table(rows: list[dict]) -> str:
    out = ["| dataset | tool | MB/s (median) | min–max | records/s | our CPU s/GB | broker CPU s/GB | peak RSS MiB | "
           "stored MB | × zstd stream | × kcat -C | × ProducerPerf | × kcat -P |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    ref = {(r["dataset"], r["tool"]): r for r in rows if not r.get("failed")}
    for r in rows:
        if r.get("failed"):
            out.append(f"| {r['dataset']} | {r['tool']} | failed | | | | | | | | | | |")
            continue
        # Compare within one security mode; a --baseline row with the same mode's reference tools.
        tool = r["tool"].replace(" [baseline]", "")
        sfx = tool[tool.index(" ["):] if " [" in tool else ""
        kc = ref.get((r["dataset"], "kcat -C" + sfx))
        pp = ref.get((r["dataset"], "ProducerPerformance" + sfx))
        ratio_kc = f"{r['mb_s'] / kc['mb_s']:.2f}" if kc and r["tool"].startswith("backup") else ""
        kp = ref.get((r["dataset"], "kcat -P" + sfx))
        ratio_pp = f"{r['mb_s'] / pp['mb_s']:.2f}" if pp and r["tool"].startswith("restore") else ""
        ratio_kp = f"{r['mb_s'] / kp['mb_s']:.2f}" if kp and r["tool"].startswith("restore") else ""
        st = f"{r['stored_bytes'] / MB:.1f}" if r["stored_bytes"] else ""
        # Stored size against one plain zstd stream of the log files at the same level.
        level = next((lv for lv in (1, 3) if f"zstd-{lv}" in tool.split()), None)
        zref = ZSTD_REF.get((r["dataset"], level)) if level else None
        ratio_z = f"{r['stored_bytes'] / zref:.2f}" if zref and r["stored_bytes"] else ""
        out.append(f"| {r['dataset']} | {r['tool']} | {r['mb_s']:.1f} | {r['mb_s_min']:.1f}–{r['mb_s_max']:.1f} | "
                   f"{r['records_s']:,.0f} | {r['cpu_s_per_gb']:.2f} | {r['broker_cpu_s_per_gb']:.2f} | "
                   f"{r['peak_rss_mib']:.0f} | {st} | {ratio_z} | {ratio_kc} | {ratio_pp} | {ratio_kp} |")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="~150 MB per dataset, D1 and D2")
    ap.add_argument("--smoke", action="store_true", help="a few MB of D1, one run: checks the script works")
    ap.add_argument("--datasets", help="comma list, e.g. D1,D2,D6 (default: per size mode)")
    ap.add_argument("--runs", type=int, default=3, help="measured runs after one warm-up (max 10)")
    ap.add_argument("--binary", default=str(REPO / "build/cli/kafka-backup"))
    ap.add_argument("--baseline", help="a second kafka-backup binary (e.g. an older commit's) measured in the same "
                                       "run after --binary; its rows are marked [baseline]")
    ap.add_argument("--results-dir", default=str(REPO / "build-bench/e2e-results"))
    ap.add_argument("--run-dir", default="/tmp/kb-bench-harness", help="harness run dir (started and stopped here)")
    ap.add_argument("--env", help="use an already running harness's env.json (not stopped here)")
    ap.add_argument("--no-java", action="store_true", help="skip ConsumerPerformance/ProducerPerformance")
    ap.add_argument("--backends", default=",".join(backends.ALL),
                    help=f"comma list of {', '.join(backends.ALL)} (default: all; object stores the harness "
                         "did not start are skipped with a message)")
    ap.add_argument("--store-labels", "--s3-labels", dest="s3_labels",
                    help="comma list of codecs also measured against the object stores, e.g. none,zstd-1 "
                         "(default: all of none, lz4, zstd-1, zstd-3)")
    ap.add_argument("--keep", action="store_true", help="keep each dataset's topics and backup sets")
    ap.add_argument("--security", default="plaintext",
                    help="comma list of plaintext, sasl_ssl (SCRAM-SHA-512 over TLS, the harness's SASL_SSL "
                         "listener, user admin): every tool is measured in each mode, rows of sasl_ssl are "
                         "marked ' [sasl_ssl]' and compared with kcat in the same mode")
    ap.add_argument("--workers", help="scaling mode instead of the datasets: a comma list of worker counts, e.g. "
                                      "1,2,4 (bench/e2e/workers.py; needs the harness's S3 server)")
    ap.add_argument("--worker-rate-kbs", type=int, default=512,
                    help="workers mode: toxiproxy bandwidth per upload connection, KB/s (4 connections per worker)")
    ap.add_argument("--worker-mb", type=int, default=128, help="workers mode: MB of values produced per worker count")
    ap.add_argument("--worker-partitions", type=int, default=24, help="workers mode: partitions of the topic")
    ap.add_argument("--worker-segment-bytes", type=int, default=1 << 20, help="workers mode: backup.segment_max_bytes")
    ap.add_argument("--worker-value-size", type=int, default=1024, help="workers mode: record value size")
    args = ap.parse_args()
    args.security = args.security.split(",")
    for sm in args.security:
        if sm not in SECURITY:
            ap.error(f"unknown --security {sm}; known: {', '.join(SECURITY)}")
    args.s3_labels = args.s3_labels.split(",") if args.s3_labels else None
    args.backends = args.backends.split(",")
    for be in args.backends:
        if be not in backends.ALL:
            ap.error(f"unknown --backends {be}; known: {', '.join(backends.ALL)}")
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    if args.smoke:
        args.runs = 1
    args.runs = max(1, min(args.runs, 10))
    names = args.datasets.split(",") if args.datasets else list(SIZES[mode])
    for n in names:
        if n not in DATASETS:
            ap.error(f"unknown dataset {n}; known: {', '.join(DATASETS)}")
    have_binary = Path(args.binary).is_file()
    if not have_binary:
        log(f"{args.binary} not found: measuring the reference tools only (build it or pass --binary)")

    if args.workers and not have_binary:
        ap.error(f"--workers needs the binary ({args.binary})")
    if args.workers and args.smoke:
        args.worker_mb = min(args.worker_mb, 8)

    results = Path(args.results_dir) / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    results.mkdir(parents=True, exist_ok=True)
    run_dir = Path(args.run_dir)
    started = False
    try:
        if args.env:
            env_path = Path(args.env)
        else:
            harness(run_dir, "up", [] if args.smoke or args.workers else args.backends)
            started = True
            env_path = run_dir / "env.json"
        env = json.loads(env_path.read_text())
        if args.workers:
            import workers
            with tempfile.TemporaryDirectory(prefix="kb-bench-workers-") as tmpd:
                rows, text = workers.run(args, env, Path(tmpd), results, log)
            (results / "summary-workers.json").write_text(json.dumps(
                {"mode": "workers", "runs": args.runs, "nproc": os.cpu_count(), "uname": list(os.uname()),
                 "loadavg_end": Path("/proc/loadavg").read_text().split()[:3], "rows": rows}, indent=2))
            print(f"results: {results}  (workers mode, {args.runs} run(s) per count, median shown)\n")
            print(text)
            return 0
        with tempfile.TemporaryDirectory(prefix="kb-bench-") as tmpd:
            b = Bench(args, env, Path(tmpd), results)
            for i, ds in enumerate(names):
                total = SIZES[mode].get(ds, SIZES["quick"].get(ds, 150 * MB))
                topic = f"bench-{ds.lower()}-{int(time.time())}"
                t0 = time.monotonic()
                load_dataset(env, topic, ds, total, seed=1000 + i)
                nbytes, nrec = log_bytes(env, topic), record_count(env, topic)
                log(f"{ds}: loaded {nrec} records, {nbytes / MB:.1f} MB of log in {time.monotonic() - t0:.1f}s")
                for level in (1, 3):
                    ZSTD_REF[(ds, level)] = zstd_stream_bytes(env, topic, level)
                log(f"{ds}: one plain zstd stream of the log: {ZSTD_REF[(ds, 1)] / MB:.2f} MB at -1, "
                    f"{ZSTD_REF[(ds, 3)] / MB:.2f} MB at -3")
                for sm in args.security:
                    b.use_security(sm)
                    b.consumers(ds, topic, nbytes, nrec)
                    if have_binary:
                        b.backups(ds, topic, nbytes, nrec)
                        b.restores(ds, topic, nbytes, nrec)
                    if have_binary and args.baseline:
                        binary, suffix = args.binary, b.suffix
                        args.binary, b.suffix, b.variant = args.baseline, suffix + " [baseline]", "-baseline"
                        try:
                            b.backups(ds, topic, nbytes, nrec)
                            b.restores(ds, topic, nbytes, nrec)
                        finally:
                            args.binary, b.suffix, b.variant = binary, suffix, ""
                    b.producers(ds, topic, nbytes, nrec)
                if not args.keep:
                    drop_dataset(env, Path(tmpd), topic)
            meta = {"mode": mode, "runs": args.runs, "datasets": names, "security": args.security, "uname": list(os.uname()),
                    "nproc": os.cpu_count(), "kafka": env["kafka"].get("version"),
                    "loadavg_end": Path("/proc/loadavg").read_text().split()[:3], "rows": b.rows,
                    "zstd_stream_bytes": {f"{d} -{lv}": n for (d, lv), n in ZSTD_REF.items()}}
            (results / "summary.json").write_text(json.dumps(meta, indent=2))
            print(f"results: {results}  (mode {mode}, {args.runs} measured runs after a warm-up)\n")
            print(table(b.rows))
            failed = [r for r in b.rows if r.get("failed")]
            return 1 if failed else 0
    finally:
        if started:
            harness(run_dir, "down")


if __name__ == "__main__":
    sys.exit(main())
