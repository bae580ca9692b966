// Writes tests/protocol/golden/messages/<Api>.json: for every API and version this client sends
// or accepts, the request and response bytes (header + body) as Apache Kafka's own generated
// message classes serialize them, plus the field values (Kafka's JSON converter) the bytes hold.
// Values are filled in by reflection with distinct non-default numbers/strings, then every field
// the version cannot carry is dropped (Kafka refuses to write a non-default unsupported field).
// Run by scripts/gen-golden.sh; the committed output needs no Java.
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.lang.reflect.*;
import java.nio.ByteBuffer;
import java.nio.file.*;
import java.util.*;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.message.RequestHeaderData;
import org.apache.kafka.common.message.ResponseHeaderData;
import org.apache.kafka.common.protocol.*;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.*;
import org.apache.kafka.common.utils.ImplicitLinkedHashMultiCollection;

public final class GenGolden {
  // Mirrors protocol/api.hpp supported_apis (name, key, min, max); golden_test checks they agree.
  static final Object[][] APIS = {
      {"Produce", 0, 3, 12}, {"Fetch", 1, 4, 17}, {"ListOffsets", 2, 1, 9}, {"Metadata", 3, 1, 13},
      {"OffsetCommit", 8, 2, 9}, {"OffsetFetch", 9, 1, 9}, {"FindCoordinator", 10, 0, 6},
      {"JoinGroup", 11, 2, 9}, {"Heartbeat", 12, 0, 4}, {"LeaveGroup", 13, 0, 5}, {"SyncGroup", 14, 0, 5},
      {"DescribeGroups", 15, 0, 5}, {"ListGroups", 16, 0, 5}, {"SaslHandshake", 17, 0, 1},
      {"ApiVersions", 18, 0, 4}, {"CreateTopics", 19, 2, 7}, {"DeleteRecords", 21, 0, 2},
      {"InitProducerId", 22, 0, 5}, {"DescribeConfigs", 32, 1, 4}, {"SaslAuthenticate", 36, 0, 2},
  };
  static final ObjectMapper M = new ObjectMapper();
  static int counter = 0;

  public static void main(String[] args) throws Exception {
    Path out = Paths.get(args[0]);
    Files.createDirectories(out);
    for (Object[] api : APIS) {
      String name = (String) api[0];
      short key = (short) (int) (Integer) api[1];
      ObjectNode file = M.createObjectNode();
      file.put("api", name);
      file.put("api_key", key);
      for (String dir : new String[] {"Request", "Response"}) {
        counter = 0;
        ObjectNode versions = file.putObject(dir.toLowerCase());
        Class<?> cls = Class.forName("org.apache.kafka.common.message." + name + dir + "Data");
        Class<?> conv = Class.forName(cls.getName() + "JsonConverter");
        Object full = cls.getConstructor().newInstance();
        fill(full, 0);
        for (int v = (Integer) api[2]; v <= (Integer) api[3]; ++v) {
          Message copy = ((Message) full).duplicate();
          versions.set(Integer.toString(v), one(key, dir, cls, conv, copy, (short) v));
        }
        // The schema defaults (empty or null arrays, absent tagged fields, -1s) take other paths.
        ObjectNode defaults = file.putObject(dir.toLowerCase() + "_defaults");
        for (int v = (Integer) api[2]; v <= (Integer) api[3]; ++v) {
          Message empty = (Message) cls.getConstructor().newInstance();
          defaults.set(Integer.toString(v), one(key, dir, cls, conv, empty, (short) v));
        }
      }
      Files.writeString(out.resolve(name + ".json"),
          M.writerWithDefaultPrettyPrinter().writeValueAsString(file) + "\n");
    }
    Path rec = Paths.get(args[1]);
    Files.createDirectories(rec);
    Files.writeString(rec.resolve("batches.json"),
        M.writerWithDefaultPrettyPrinter().writeValueAsString(batches()) + "\n");
  }

  /** Record batches (magic 2) and legacy message sets (magic 0/1) with every codec the magic
   *  allows, built by MemoryRecordsBuilder; each case lists the records a reader must see. */
  static ArrayNode batches() {
    ArrayNode cases = M.createArrayNode();
    String[] codecs = {"none", "gzip", "snappy", "lz4", "zstd"};
    for (byte magic = 0; magic <= 2; ++magic) {
      for (String codec : codecs) {
        if (codec.equals("zstd") && magic < 2) continue;  // zstd needs magic 2 (KIP-110)
        for (boolean txn : new boolean[] {false, true}) {
          if (txn && magic < 2) continue;
          cases.add(batch(magic, codec, txn));
        }
      }
    }
    return cases;
  }

  static Compression compression(String codec) {
    switch (codec) {
      case "gzip": return Compression.gzip().build();
      case "snappy": return Compression.snappy().build();
      case "lz4": return Compression.lz4().build();
      case "zstd": return Compression.zstd().build();
      default: return Compression.NONE;
    }
  }

  static ObjectNode batch(byte magic, String codec, boolean txn) {
    long baseOffset = 1000;
    long producerId = txn ? 4242 : RecordBatch.NO_PRODUCER_ID;
    short epoch = txn ? (short) 7 : RecordBatch.NO_PRODUCER_EPOCH;
    int sequence = txn ? 99 : RecordBatch.NO_SEQUENCE;
    TimestampType tt = magic == 0 ? TimestampType.NO_TIMESTAMP_TYPE : TimestampType.CREATE_TIME;
    MemoryRecordsBuilder b = MemoryRecords.builder(ByteBuffer.allocate(4096), magic,
        compression(codec), tt, baseOffset, RecordBatch.NO_TIMESTAMP, producerId, epoch, sequence,
        txn, magic == 2 ? 5 : RecordBatch.NO_PARTITION_LEADER_EPOCH);
    ArrayNode recs = M.createArrayNode();
    long ts = 1_700_000_000_123L;
    Object[][] rows = {
        {"key-1", "value-1"}, {null, "value without key"}, {"tombstone", null}, {"key-4", "v4"}};
    for (int i = 0; i < rows.length; ++i) {
      byte[] k = rows[i][0] == null ? null : ((String) rows[i][0]).getBytes();
      byte[] v = rows[i][1] == null ? null : ((String) rows[i][1]).getBytes();
      org.apache.kafka.common.header.Header[] hs = magic < 2 || i != 0
          ? new org.apache.kafka.common.header.Header[0]
          : new org.apache.kafka.common.header.Header[] {
              new org.apache.kafka.common.header.internals.RecordHeader("h1", "hv1".getBytes()),
              new org.apache.kafka.common.header.internals.RecordHeader("h2", null)};
      b.append(ts + 10L * i, k, v, hs);
      ObjectNode r = recs.addObject();
      r.put("offset", baseOffset + i);
      r.put("timestamp", magic == 0 ? -1 : ts + 10L * i);
      if (k == null) r.putNull("key"); else r.put("key", (String) rows[i][0]);
      if (v == null) r.putNull("value"); else r.put("value", (String) rows[i][1]);
      ArrayNode h = r.putArray("headers");
      for (var x : hs) {
        ObjectNode e = h.addObject();
        e.put("key", x.key());
        if (x.value() == null) e.putNull("value"); else e.put("value", new String(x.value()));
      }
    }
    MemoryRecords built = b.build();
    ByteBuffer buf = built.buffer();
    byte[] bytes = new byte[buf.remaining()];
    buf.duplicate().get(bytes);
    ObjectNode o = M.createObjectNode();
    o.put("name", "magic" + magic + "-" + codec + (txn ? "-transactional" : ""));
    o.put("magic", magic);
    o.put("codec", codec);
    o.put("base_offset", baseOffset);
    o.put("producer_id", producerId);
    o.put("producer_epoch", epoch);
    o.put("base_sequence", sequence);
    o.put("transactional", txn);
    o.put("partition_leader_epoch", magic == 2 ? 5 : -1);
    o.put("hex", hex(bytes));
    o.set("records", recs);
    return o;
  }

  /** Bytes and fields of one message at one version, dropping fields the version cannot carry. */
  static ObjectNode one(short key, String dir, Class<?> cls, Class<?> conv, Message msg, short v)
      throws Exception {
    ApiKeys api = ApiKeys.forId(key);
    for (int attempt = 0; attempt < 200; ++attempt) {
      byte[] body;
      try {
        body = MessageUtil.toByteBufferAccessor(msg, v).buffer().array();
      } catch (RuntimeException e) {
        String field = unsupportedField(e);
        if (field == null) throw new RuntimeException(api + " " + dir + " v" + v, e);
        if (!drop(msg, field)) throw new RuntimeException("cannot drop " + field, e);
        continue;
      }
      Message header;
      short hv;
      if (dir.equals("Request")) {
        hv = api.requestHeaderVersion(v);
        header = new RequestHeaderData().setRequestApiKey(key).setRequestApiVersion(v)
            .setCorrelationId(0x01020300 + v).setClientId("golden-client");
      } else {
        hv = api.responseHeaderVersion(v);
        header = new ResponseHeaderData().setCorrelationId(0x01020300 + v);
      }
      byte[] head = MessageUtil.toByteBufferAccessor(header, hv).buffer().array();
      ObjectNode o = M.createObjectNode();
      o.put("header_version", hv);
      o.put("correlation_id", 0x01020300 + v);
      o.put("hex", hex(head) + hex(body));
      o.set("fields", (JsonNode) conv.getMethod("write", cls, short.class, boolean.class)
          .invoke(null, msg, v, true));
      return o;
    }
    throw new RuntimeException("too many unsupported fields");
  }

  static String unsupportedField(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      String m = t.getMessage();
      if (m == null) continue;
      java.util.regex.Matcher x = java.util.regex.Pattern
          .compile("non-default (\\w+) at version").matcher(m);
      if (x.find()) return x.group(1);
    }
    return null;
  }

  /** Resets every `field` in the object tree to its schema default. */
  static boolean drop(Object o, String field) throws Exception {
    boolean any = false;
    if (o instanceof Collection<?> c) {
      for (Object e : c) any |= drop(e, field);
      return any;
    }
    if (!(o instanceof Message)) return false;
    Class<?> c = o.getClass();
    for (Method m : c.getMethods()) {
      if (m.getParameterCount() != 0 || m.getDeclaringClass() != c) continue;
      if (m.getName().equals(field)) {
        Method set = c.getMethod("set" + Character.toUpperCase(field.charAt(0)) + field.substring(1),
            m.getReturnType());
        set.invoke(o, m.invoke(c.getConstructor().newInstance()));
        any = true;
      } else if (!m.getName().equals("unknownTaggedFields") && !m.getName().equals("duplicate")
          && (Message.class.isAssignableFrom(m.getReturnType())
              || Collection.class.isAssignableFrom(m.getReturnType()))) {
        any |= drop(m.invoke(o), field);
      }
    }
    return any;
  }

  static String hex(byte[] b) {
    StringBuilder s = new StringBuilder();
    for (byte x : b) s.append(String.format("%02x", x));
    return s.toString();
  }

  /** Sets every field of a generated message struct to a distinct non-default value (not the
   *  next/prev links of collection elements, which are not fields). */
  static void fill(Object o, int depth) throws Exception {
    List<Method> setters = new ArrayList<>();
    for (Method m : o.getClass().getMethods())
      if (m.getName().startsWith("set") && m.getParameterCount() == 1
          && !m.getName().equals("setUnknownTaggedFields") && !m.getName().equals("setNext")
          && !m.getName().equals("setPrev") && m.getDeclaringClass() == o.getClass())
        setters.add(m);
    setters.sort(Comparator.comparing(Method::getName));
    for (Method m : setters) {
      Object val = value(m.getParameterTypes()[0], m.getGenericParameterTypes()[0], depth);
      if (val != null) m.invoke(o, val);
    }
  }

  static Object value(Class<?> t, Type g, int depth) throws Exception {
    int k = ++counter;
    if (t == byte.class) return (byte) (k % 100 + 1);
    if (t == short.class) return (short) (k + 1);
    if (t == int.class) return 1000 + k;
    if (t == long.class) return 1_000_000_000_000L + k;
    if (t == boolean.class) return true;
    if (t == double.class) return 0.5 + k;
    if (t == String.class) return "s" + k;
    if (t == Uuid.class) return new Uuid(0x1111000000000000L + k, 0x2222000000000000L + k);
    if (t == byte[].class) return new byte[] {1, 2, 3, (byte) k};
    if (BaseRecords.class.isAssignableFrom(t)) return records(k);
    if (List.class.isAssignableFrom(t)) {
      Type e = ((ParameterizedType) g).getActualTypeArguments()[0];
      List<Object> l = new ArrayList<>();
      for (int i = 0; i < 2; ++i) l.add(element((Class<?>) e, depth));
      return l;
    }
    if (ImplicitLinkedHashMultiCollection.class.isAssignableFrom(t)) {
      Type e = ((ParameterizedType) t.getGenericSuperclass()).getActualTypeArguments()[0];
      @SuppressWarnings("unchecked")
      Collection<Object> c = (Collection<Object>) t.getConstructor().newInstance();
      for (int i = 0; i < 2; ++i) c.add(element((Class<?>) e, depth));
      return c;
    }
    if (Message.class.isAssignableFrom(t)) {
      Object o = t.getConstructor().newInstance();
      fill(o, depth + 1);
      return o;
    }
    throw new IllegalStateException("no value for " + t);
  }

  static Object element(Class<?> e, int depth) throws Exception {
    if (e == Integer.class) return 1000 + ++counter;
    if (e == Long.class) return 1_000_000_000_000L + ++counter;
    if (e == String.class) return "s" + ++counter;
    if (e == Short.class) return (short) ++counter;
    Object o = e.getConstructor().newInstance();
    fill(o, depth + 1);
    return o;
  }

  /** A v2 batch with one record, so record-carrying fields are non-empty. */
  static MemoryRecords records(int k) {
    return MemoryRecords.withRecords(Compression.NONE,
        new SimpleRecord(1_700_000_000_000L + k, ("k" + k).getBytes(), ("v" + k).getBytes()));
  }
}
