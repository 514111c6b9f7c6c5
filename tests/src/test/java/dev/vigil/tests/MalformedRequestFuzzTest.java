package dev.vigil.tests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vigil.server.RawHttp;
import dev.vigil.server.TestServers;
import dev.vigil.server.VigilServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A hostile client, seeded: thousands of malformed inference requests across the ways a request can be wrong
 * (JSON syntax, types, shapes, datatypes, inputs and outputs, the JSON limits, the binary extension, token ids,
 * sequence lengths, mask lengths) sent to a started server with the bundled small models and MiniLM. Asserts no
 * 5xx, no reply slower than {@link #REPLY_BOUND}, every 4xx a JSON object with a non-empty {@code error} free of
 * server paths and library internals, and afterwards every model still answering its valid requests as before.
 * The HTTP-level malformations go as raw bytes on a socket (bad request lines and headers; bodies shorter than
 * their Content-Length or with broken chunked framing, the client then shutting its side). Re-run one seed with
 * {@code -Dvigil.fuzz.seed=N}; {@code -Dvigil.fuzz.cases=N} sets how many requests.
 */
class MalformedRequestFuzzTest {
    static final long SEED = Long.getLong("vigil.fuzz.seed", 20261202L);
    private static final int CASES = Integer.getInteger("vigil.fuzz.cases", 2000);
    static final Duration REPLY_BOUND = Duration.ofSeconds(10);
    static final int MAX_TOKENS = 512;
    private static final int MAX_BODY = 4 << 20;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    private static final String PLANTED = "planted-outliers";
    private static final int PLANTED_VOCAB = 32;
    private static final String EFT = "eft-256";
    private static final int EFT_VOCAB = 33;
    private static final int EFT_LENGTH = 256;
    private static final String MINILM = "all-minilm-l6-v2";
    private static final int MINILM_VOCAB = 30522;

    @TempDir
    static Path repo;
    static VigilServer server;
    static int port;
    private static HttpClient client;
    /** Valid requests and the answers the server gave them before the fuzzing. */
    private static final Map<String, String> references = new TreeMap<>();

    /** A request to send: what it is, where, its body and extra headers, and whether it must be refused. */
    record Case(int index, String category, String model, byte[] body, String[] headers, boolean mustFail) {
    }

    @BeforeAll
    static void start() throws Exception {
        for (String model : new String[]{PLANTED, EFT, MINILM}) {
            Path source = MiniLmTextTest.MODELS.resolve(model).toAbsolutePath().normalize();
            assertTrue(Files.isRegularFile(source.resolve("model.onnx")), source + " has no model.onnx: the MiniLM "
                    + "model is unpacked by the server build");
            if (!model.equals(MINILM)) {
                Files.createSymbolicLink(repo.resolve(model), source);
                continue;
            }
            // MiniLM unprobed: tapping its hundreds of sites would triple its load time, and validation is the same
            Path dir = Files.createDirectories(repo.resolve(model));
            Files.createSymbolicLink(dir.resolve("model.onnx"), source.resolve("model.onnx"));
            Files.createSymbolicLink(dir.resolve("tokenizer.json"), source.resolve("tokenizer.json"));
            Files.writeString(dir.resolve("config.json"), "{\"max_batch_size\": 32, \"probe\": {\"enabled\": false}}");
        }
        long t0 = System.nanoTime();
        server = new VigilServer(TestServers.cpu(repo)
                .maxBodyBytes(MAX_BODY).maxSequenceLength(MAX_TOKENS).maxInflight(4).maxQueue(64)
                .intraOpThreads(1).build());
        port = server.start();
        System.out.printf("fuzz set-up: 3 models loaded and serving in %.1f s%n", (System.nanoTime() - t0) / 1e9);
        client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(REPLY_BOUND).build();
        Random r = new Random(SEED);
        for (int i = 0; i < 2; i++) {
            for (Base b : bases(r)) {
                String key = b.model + "#" + references.size();
                Reply reply = send(b.model, JSON.writeValueAsBytes(b.request), new String[0]);
                assertEquals(200, reply.status, key + ": " + reply.text());
                references.put(key + "\n" + JSON.writeValueAsString(b.request), outputs(reply));
            }
        }
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    /** A valid request to one model. */
    record Base(String model, ObjectNode request, int[] vocab) {
    }

    /** One valid request per kind: tensor requests to each model, and a text request to MiniLM. */
    static List<Base> bases(Random r) {
        List<Base> bases = new ArrayList<>();
        int batch = 1 + r.nextInt(3);
        int length = 2 + r.nextInt(12);
        bases.add(new Base(PLANTED, request(input("input_ids", batch, length, ids(r, batch * length, PLANTED_VOCAB)),
                input("attention_mask", batch, length, ones(batch * length))), new int[]{PLANTED_VOCAB, -1}));
        bases.add(new Base(EFT, request(input("input_ids", 1, EFT_LENGTH, ids(r, EFT_LENGTH, EFT_VOCAB))),
                new int[]{EFT_VOCAB}));
        bases.add(new Base(MINILM, request(input("input_ids", batch, length, ids(r, batch * length, MINILM_VOCAB)),
                input("attention_mask", batch, length, ones(batch * length)),
                input("token_type_ids", batch, length, new long[batch * length])), new int[]{MINILM_VOCAB, -1, 2}));
        ObjectNode text = F.objectNode();
        text.put("name", "text").put("datatype", "BYTES");
        text.putArray("shape").add(2);
        text.putArray("data").add("Vigil watches the layers of " + r.nextInt(1000) + " models.").add("fuzz");
        bases.add(new Base(MINILM, request(text), new int[]{-1}));
        return bases;
    }

    private static ObjectNode request(ObjectNode... inputs) {
        ObjectNode req = F.objectNode();
        ArrayNode arr = req.putArray("inputs");
        for (ObjectNode in : inputs) {
            arr.add(in);
        }
        return req;
    }

    private static ObjectNode input(String name, int batch, int length, long[] data) {
        ObjectNode in = F.objectNode();
        in.put("name", name).put("datatype", "INT64");
        in.putArray("shape").add(batch).add(length);
        ArrayNode d = in.putArray("data");
        for (long v : data) {
            d.add(v);
        }
        return in;
    }

    private static long[] ids(Random r, int n, int vocab) {
        long[] ids = new long[n];
        for (int i = 0; i < n; i++) {
            ids[i] = r.nextInt(vocab);
        }
        return ids;
    }

    private static long[] ones(int n) {
        long[] m = new long[n];
        java.util.Arrays.fill(m, 1);
        return m;
    }

    // ---- the mutations ------------------------------------------------------------------------------------------

    private static final List<String> CATEGORIES = List.of("truncate", "byte-noise", "wrong-type", "shape",
            "shape-data-mismatch", "datatype", "duplicate-input", "unknown-input", "missing-input", "outputs",
            "json-limits", "binary", "out-of-vocabulary", "over-long", "mask-length", "number-oddities",
            "not-a-request");

    /** Malformed request number {@code index}, from its own random stream: built in any order, always the same. */
    static Case caseAt(long seed, int index) throws IOException {
        Random r = new Random(seed * 1_000_003L + index);
        while (true) {
            List<Base> bases = bases(r);
            Base base = bases.get(r.nextInt(bases.size()));
            String category = CATEGORIES.get(r.nextInt(CATEGORIES.size()));
            Case c = mutate(index, category, base, r);
            if (c != null) {
                return c;
            }
        }
    }

    private static Case json(int index, String category, Base b, JsonNode request) throws IOException {
        return new Case(index, category, b.model, JSON.writeValueAsBytes(request), new String[0], true);
    }

    private static Case mutate(int index, String category, Base b, Random r) throws IOException {
        ObjectNode req = b.request.deepCopy();
        ArrayNode inputs = (ArrayNode) req.get("inputs");
        ObjectNode in = (ObjectNode) inputs.get(r.nextInt(inputs.size()));
        boolean text = in.get("datatype").asText().equals("BYTES");
        byte[] body = JSON.writeValueAsBytes(req);
        switch (category) {
            case "truncate" -> {
                return new Case(index, category, b.model, java.util.Arrays.copyOf(body, r.nextInt(body.length)),
                        new String[0], true);
            }
            case "byte-noise" -> {
                byte[] noisy = body.clone();
                for (int k = 1 + r.nextInt(3); k > 0; k--) {
                    String noise = "{}[]\":,\\0-e.\u0000\u00ff x";
                    noisy[r.nextInt(noisy.length)] = (byte) noise.charAt(r.nextInt(noise.length()));
                }
                // a flipped byte can leave a valid request (a digit for a digit): it may succeed
                return new Case(index, category, b.model, noisy, new String[0], false);
            }
            case "wrong-type" -> {
                String[] fields = {"name", "datatype", "shape", "data", "parameters"};
                String field = fields[r.nextInt(fields.length)];
                JsonNode wrong = wrongValue(r, field.equals("shape") || field.equals("data") ? "array"
                        : field.equals("parameters") ? "object" : "string");
                switch (r.nextInt(6)) {
                    case 0 -> req.set("inputs", wrongValue(r, "array"));
                    case 1 -> inputs.set(r.nextInt(inputs.size()), wrongValue(r, "object"));
                    case 2 -> {
                        if (r.nextBoolean()) {
                            req.set("outputs", wrongValue(r, "array"));
                        } else {
                            req.set("id", wrongValue(r, "string"));
                        }
                    }
                    case 3 -> req.set("parameters", wrongValue(r, "object"));
                    case 4 -> {
                        ArrayNode shape = (ArrayNode) in.get("shape");
                        shape.set(r.nextInt(shape.size()), wrongValue(r, "integer"));
                    }
                    default -> in.set(field, wrong);
                }
                return json(index, category, b, req);
            }
            case "shape" -> {
                ArrayNode shape = in.putArray("shape");
                switch (r.nextInt(8)) {
                    case 0 -> shape.add(-1 - r.nextInt(5)).add(2);
                    case 7 -> {
                        // an empty batch: refused or answered empty, never a 5xx
                        shape.add(0).add(((ArrayNode) b.request.get("inputs").get(0).get("shape")).path(1).asInt(1));
                        in.putArray("data");
                        return new Case(index, category, b.model, JSON.writeValueAsBytes(req), new String[0], false);
                    }
                    case 1 -> shape.add(1L << 62).add(1L << 62);
                    case 2 -> shape.add(Long.MAX_VALUE);
                    case 3 -> shape.add(Double.NaN).add(1);
                    case 4 -> shape.add(4294967296L).add(4294967296L).add(4);
                    case 5 -> {
                        for (int k = 0; k < 5 + r.nextInt(40); k++) {
                            shape.add(1);
                        }
                    }
                    default -> shape.add(1.5).add(2);
                }
                return json(index, category, b, req);
            }
            case "shape-data-mismatch" -> {
                ArrayNode data = (ArrayNode) in.get("data");
                if (r.nextBoolean() && data.size() > 1) {
                    data.remove(r.nextInt(data.size()));
                } else {
                    data.add(text ? F.textNode("extra") : F.numberNode(0));
                }
                return json(index, category, b, req);
            }
            case "datatype" -> {
                String[] types = {"FLOAT", "int64", "", "UINT64", "BF16", "FP32", "INT32", "BOOL", "BYTES", "FP16",
                        "INT8", "UINT8", "FP64", "INT16", "STRING", "INT64 ", "\u0000"};
                String t = types[r.nextInt(types.length)];
                if (t.equals(in.get("datatype").asText())) {
                    return null;
                }
                in.put("datatype", t);
                return json(index, category, b, req);
            }
            case "duplicate-input" -> {
                inputs.add(in.deepCopy());
                return json(index, category, b, req);
            }
            case "unknown-input" -> {
                if (r.nextBoolean()) {
                    if (text) {
                        return null; // a text input may have any name
                    }
                    in.put("name", in.get("name").asText() + "_x");
                } else {
                    inputs.add(in.deepCopy().put("name", "position_ids"));
                }
                return json(index, category, b, req);
            }
            case "missing-input" -> {
                if (inputs.size() > 1 && r.nextBoolean()) {
                    inputs.remove(r.nextInt(inputs.size()));
                } else {
                    inputs.removeAll();
                }
                return json(index, category, b, req);
            }
            case "outputs" -> {
                ArrayNode outs = req.putArray("outputs");
                switch (r.nextInt(4)) {
                    case 0 -> outs.addObject().put("name", "no_such_output");
                    case 1 -> outs.addObject().put("name", "");
                    case 2 -> outs.addObject().putObject("parameters").put("binary_data", "yes");
                    default -> {
                        String first = b.model.equals(MINILM) ? "last_hidden_state" : "logits";
                        outs.addObject().put("name", first);
                        outs.addObject().put("name", first);
                    }
                }
                return json(index, category, b, req);
            }
            case "json-limits" -> {
                return limitBreaker(index, b, req, r);
            }
            case "binary" -> {
                return binary(index, b, req, r);
            }
            case "out-of-vocabulary" -> {
                int slot = r.nextInt(inputs.size());
                int vocab = b.vocab[slot];
                if (vocab < 0) {
                    return null;
                }
                ArrayNode data = (ArrayNode) inputs.get(slot).get("data");
                long[] bad = {vocab, vocab + r.nextInt(1 << 20), -1, -1 - r.nextInt(1 << 20), Long.MAX_VALUE,
                        Long.MIN_VALUE};
                data.set(r.nextInt(data.size()), F.numberNode(bad[r.nextInt(bad.length)]));
                return json(index, category, b, req);
            }
            case "over-long" -> {
                if (text) {
                    in.putArray("data").add("word ".repeat(MAX_TOKENS + r.nextInt(MAX_TOKENS)));
                    in.putArray("shape").add(1);
                    return json(index, category, b, req);
                }
                int length = b.model.equals(EFT) ? EFT_LENGTH + 1 + r.nextInt(8)
                        : MAX_TOKENS + 1 + r.nextInt(3 * MAX_TOKENS);
                for (JsonNode each : inputs) {
                    ObjectNode o = (ObjectNode) each;
                    o.putArray("shape").add(1).add(length);
                    ArrayNode data = o.putArray("data");
                    for (int k = 0; k < length; k++) {
                        data.add(1);
                    }
                }
                return json(index, category, b, req);
            }
            case "mask-length" -> {
                if (inputs.size() < 2) {
                    return null;
                }
                ArrayNode shape = (ArrayNode) in.get("shape");
                int length = shape.get(1).asInt();
                int batch = shape.get(0).asInt();
                int other = Math.max(1, length + (r.nextBoolean() ? 1 + r.nextInt(4) : -1 - r.nextInt(length)));
                if (other == length) {
                    return null;
                }
                in.putArray("shape").add(batch).add(other);
                ArrayNode data = in.putArray("data");
                for (int k = 0; k < batch * other; k++) {
                    data.add(in.get("name").asText().equals("attention_mask") ? 1 : 0);
                }
                return json(index, category, b, req);
            }
            case "number-oddities" -> {
                if (text) {
                    return null;
                }
                String[] odd = {"1.5", "1e400", "NaN", "-Infinity", "-9223372036854775809", "9223372036854775808",
                        "\"7\"", "true", "null", "{}", "[[]]", "1e2", "0x10", "-0", "+1", "01"};
                String data = JSON.writeValueAsString(in.get("data"));
                String broken = data.replaceFirst("\\d+", Matcher.quoteReplacement(odd[r.nextInt(odd.length)]));
                String s = new String(body, StandardCharsets.UTF_8).replace(data, broken);
                // "-0" is the valid integer 0
                return new Case(index, category, b.model, s.getBytes(StandardCharsets.UTF_8), new String[0],
                        !broken.equals(data.replaceFirst("\\d+", "-0")));
            }
            default -> {
                String[] bodies = {"", "null", "[]", "{}", "\"inputs\"", "{\"inputs\":{}}", "{\"inputs\":[]}",
                        "{\"inputs\":null}", "{\"inputs\":[[]]}", "{\"inputs\":[{}]}", "\u0000", "{\"inputs\":[1]}",
                        "{\"id\":1,\"inputs\":[]}", "\uFEFF{}", "{\"inputs\":[{\"name\":\"input_ids\"}]}"};
                return new Case(index, category, b.model,
                        bodies[r.nextInt(bodies.length)].getBytes(StandardCharsets.UTF_8), new String[0], true);
            }
        }
    }

    /** A value that is not of the expected kind ("array", "object", "string", "integer"). */
    private static JsonNode wrongValue(Random r, String expected) {
        List<JsonNode> values = new ArrayList<>(List.of(F.numberNode(r.nextInt(100)), F.numberNode(2.5),
                F.textNode("x"), F.booleanNode(true), F.nullNode(), F.objectNode().put("a", 1),
                F.arrayNode().add(1).add("b")));
        values.removeIf(v -> switch (expected) {
            case "array" -> v.isArray();
            case "object" -> v.isObject();
            case "string" -> v.isTextual();
            default -> v.isIntegralNumber();
        });
        return values.get(r.nextInt(values.size()));
    }

    private static Case limitBreaker(int index, Base b, ObjectNode req, Random r) throws IOException {
        String valid = JSON.writeValueAsString(req);
        String rest = valid.substring(1);
        String body = switch (r.nextInt(6)) {
            case 0 -> {
                int depth = 65 + r.nextInt(3000);
                yield "{\"parameters\":" + "{\"a\":".repeat(depth) + "1" + "}".repeat(depth) + "," + rest;
            }
            case 1 -> {
                int depth = 65 + r.nextInt(3000);
                yield valid.replaceFirst("\"data\":\\[", Matcher.quoteReplacement("\"data\":[" + "[".repeat(depth)
                        + "1" + "]".repeat(depth) + ","));
            }
            case 2 -> valid.replaceFirst("\"data\":\\[", Matcher.quoteReplacement("\"data\":["
                    + "9".repeat(101 + r.nextInt(2000)) + ","));
            case 3 -> "{\"id\":\"" + "i".repeat((1 << 20) + 1 + r.nextInt(1000)) + "\"," + rest;
            case 4 -> "{\"parameters\":{\"" + "k".repeat(1025 + r.nextInt(5000)) + "\":1}," + rest;
            default -> "{\"parameters\":" + "[".repeat(70_000) + "]".repeat(70_000) + "," + rest;
        };
        return new Case(index, "json-limits", b.model, body.getBytes(StandardCharsets.UTF_8), new String[0], true);
    }

    /** The request in the binary tensor data extension, then broken in its sizes or headers. */
    private static Case binary(int index, Base b, ObjectNode req, Random r) throws IOException {
        ByteArrayOutputStream tail = new ByteArrayOutputStream();
        List<ObjectNode> ins = new ArrayList<>();
        for (JsonNode each : req.get("inputs")) {
            ObjectNode in = (ObjectNode) each;
            byte[] bytes = raw(in);
            in.remove("data");
            in.putObject("parameters").put("binary_data_size", bytes.length);
            tail.write(bytes);
            ins.add(in);
        }
        ObjectNode victim = ins.get(r.nextInt(ins.size()));
        ObjectNode params = (ObjectNode) victim.get("parameters");
        long size = params.get("binary_data_size").asLong();
        int kind = r.nextInt(9);
        switch (kind) {
            case 0 -> params.put("binary_data_size", size + 1 + r.nextInt(16));
            case 1 -> params.put("binary_data_size", Math.max(0, size - 1 - r.nextInt(16)));
            case 2 -> params.put("binary_data_size", -1 - r.nextInt(100));
            case 3 -> params.put("binary_data_size", "8");
            case 4 -> victim.putArray("data").add(1);
            default -> {
            }
        }
        byte[] header = JSON.writeValueAsBytes(req);
        byte[] payload = tail.toByteArray();
        if (kind == 5) {
            payload = java.util.Arrays.copyOf(payload, payload.length + 1 + r.nextInt(8));
        } else if (kind == 6 && payload.length > 0) {
            payload = java.util.Arrays.copyOf(payload, r.nextInt(payload.length));
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.write(header);
        body.write(payload);
        String headerLength = switch (kind) {
            case 7 -> new String[]{"-5", "0", "abc", "99999999999999999999", String.valueOf(body.size() + 1),
                    String.valueOf(header.length - 1), "1.5", "0x10"}[r.nextInt(8)];
            case 8 -> String.valueOf(header.length + 1 + r.nextInt(Math.max(1, payload.length)));
            default -> String.valueOf(header.length);
        };
        if (kind == 8 && payload.length == 0) {
            return null;
        }
        return new Case(index, "binary", b.model, body.toByteArray(),
                new String[]{"Inference-Header-Content-Length", headerLength}, true);
    }

    /** An input's JSON data as the binary extension carries it. */
    private static byte[] raw(ObjectNode in) {
        JsonNode data = in.get("data");
        if (in.get("datatype").asText().equals("BYTES")) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            for (JsonNode s : data) {
                byte[] utf8 = s.asText().getBytes(StandardCharsets.UTF_8);
                out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(utf8.length).array());
                out.writeBytes(utf8);
            }
            return out.toByteArray();
        }
        ByteBuffer buf = ByteBuffer.allocate(data.size() * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (JsonNode v : data) {
            buf.putLong(v.asLong());
        }
        return buf.array();
    }

    // ---- sending and judging ------------------------------------------------------------------------------------

    /** A reply, or the reason there was none ({@code status} -1). */
    record Reply(int status, byte[] body, String contentType, String failure) {
        String text() {
            return failure != null ? failure : new String(body, StandardCharsets.UTF_8);
        }
    }

    static Reply send(String model, byte[] body, String[] headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v2/models/" + model
                + "/infer")).timeout(REPLY_BOUND).POST(HttpRequest.BodyPublishers.ofByteArray(body))
                .header("Content-Type", "application/json");
        for (int i = 0; i + 1 < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        try {
            HttpResponse<byte[]> r = client.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
            return new Reply(r.statusCode(), r.body(), r.headers().firstValue("Content-Type").orElse(""), null);
        } catch (HttpTimeoutException e) {
            return new Reply(-1, new byte[0], "", "no reply within " + REPLY_BOUND.toSeconds() + " s");
        } catch (IOException e) {
            return new Reply(-1, new byte[0], "", "connection failed: " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Reply(-1, new byte[0], "", "interrupted");
        }
    }

    /** What is wrong with a reply to a malformed request, or null when it is right. */
    static String judge(Reply reply, boolean mustFail) {
        if (reply.failure != null) {
            return reply.failure;
        }
        if (reply.status >= 500) {
            return "status " + reply.status;
        }
        if (reply.status < 400) {
            return mustFail ? "accepted (" + reply.status + ")" : null;
        }
        JsonNode body;
        try {
            body = JSON.readTree(reply.body);
        } catch (IOException e) {
            return "4xx body is not JSON";
        }
        if (body == null || !body.isObject() || !body.path("error").isTextual() || body.get("error").asText().isBlank()) {
            return "4xx body has no non-empty \"error\"";
        }
        String error = body.get("error").asText();
        for (String leak : new String[]{repo.toString(), repo.toAbsolutePath().toString(),
                System.getProperty("java.io.tmpdir") + "/", "com.fasterxml", "Source:", "REDACTED", "Exception",
                "StreamReadConstraints", "`", "java.", "org.eclipse"}) {
            if (error.contains(leak)) {
                return "error shows '" + leak + "'";
            }
        }
        return null;
    }

    private static String outputs(Reply reply) throws IOException {
        JsonNode outs = JSON.readTree(reply.body).get("outputs");
        return JSON.writeValueAsString(outs);
    }

    /** Numeric comparison of two outputs arrays: same names and shapes, values within float rounding. */
    private static String compareOutputs(String expected, String actual) throws IOException {
        JsonNode e = JSON.readTree(expected);
        JsonNode a = JSON.readTree(actual);
        if (e.size() != a.size()) {
            return "outputs " + a.size() + " vs " + e.size();
        }
        for (int i = 0; i < e.size(); i++) {
            if (!e.get(i).get("name").equals(a.get(i).get("name")) || !e.get(i).get("shape").equals(a.get(i).get("shape"))) {
                return "output " + i + " name or shape changed";
            }
            JsonNode ed = e.get(i).get("data");
            JsonNode ad = a.get(i).get("data");
            for (int k = 0; k < ed.size(); k++) {
                double x = ed.get(k).asDouble();
                double y = ad.get(k).asDouble();
                if (Math.abs(x - y) > 1e-5 * Math.max(1, Math.abs(x))) {
                    return "output " + e.get(i).get("name") + "[" + k + "] " + y + " vs " + x;
                }
            }
        }
        return null;
    }

    /** Every valid request of the set-up is still answered, and as before. */
    static List<String> stillServesAsBefore() throws IOException {
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, String> ref : references.entrySet()) {
            String[] keyAndRequest = ref.getKey().split("\n", 2);
            String model = keyAndRequest[0].substring(0, keyAndRequest[0].indexOf('#'));
            Reply reply = send(model, keyAndRequest[1].getBytes(StandardCharsets.UTF_8), new String[0]);
            if (reply.status != 200) {
                problems.add(keyAndRequest[0] + ": " + reply.status + " " + reply.text());
                continue;
            }
            String diff = compareOutputs(ref.getValue(), outputs(reply));
            if (diff != null) {
                problems.add(keyAndRequest[0] + ": " + diff);
            }
        }
        return problems;
    }

    /** The server's own count of server errors, over every model. */
    static double serverErrors() {
        Reply metrics;
        try {
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                    + "/metrics")).timeout(REPLY_BOUND).build(), HttpResponse.BodyHandlers.ofString());
            metrics = new Reply(r.statusCode(), r.body().getBytes(StandardCharsets.UTF_8), "", null);
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
        Matcher m = Pattern.compile("(?m)^vigil_requests_total\\{model=\"[^\"]+\",outcome=\"server_error\"} (\\S+)$")
                .matcher(metrics.text());
        double sum = 0;
        while (m.find()) {
            sum += Double.parseDouble(m.group(1));
        }
        return sum;
    }

    @Test
    void thousandsOfMalformedRequestsGetJson4xxAndLeaveTheServerAsItWas() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(3);
        List<String> failures = Collections.synchronizedList(new ArrayList<>());
        Map<String, int[]> byCategory = Collections.synchronizedMap(new TreeMap<>());
        long t0 = System.nanoTime();
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int i = 0; i < CASES; i++) {
                int index = i;
                done.add(pool.submit(() -> {
                    Case c = caseAt(SEED, index);
                    Reply reply = send(c.model, c.body, c.headers);
                    String problem = judge(reply, c.mustFail);
                    int[] counts = byCategory.computeIfAbsent(c.category, k -> new int[2]);
                    synchronized (counts) {
                        counts[reply.status >= 400 && reply.status < 500 ? 0 : 1]++;
                    }
                    if (problem != null) {
                        String request = new String(c.body, 0, Math.min(c.body.length, 300), StandardCharsets.UTF_8);
                        failures.add("#" + c.index + " " + c.category + " " + c.model + ": " + problem + " | reply "
                                + reply.text().substring(0, Math.min(reply.text().length(), 300)) + " | request "
                                + String.join(" ", c.headers) + " " + request);
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(5, TimeUnit.MINUTES);
            }
        } finally {
            pool.shutdownNow();
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        StringBuilder summary = new StringBuilder("seed " + SEED + ", " + CASES + " requests in "
                + String.format("%.1f", seconds) + " s; per category [4xx, other]:");
        byCategory.forEach((k, v) -> summary.append(' ').append(k).append('=').append(v[0]).append('/').append(v[1]));
        System.out.println(summary);
        assertTrue(failures.isEmpty(), failures.size() + " wrong replies (" + summary + "):\n"
                + String.join("\n", failures.subList(0, Math.min(failures.size(), 25))));
        assertEquals(CATEGORIES.size(), byCategory.size(), "every category was sent: " + byCategory.keySet());
        List<String> after = stillServesAsBefore();
        assertTrue(after.isEmpty(), "after the fuzzing: " + after);
        assertEquals(0, serverErrors(), "vigil_requests_total{outcome=\"server_error\"}");
    }

    // ---- HTTP-level malformations: raw bytes on a socket ----------------------------------------------------------

    /**
     * Raw request bytes; with {@code halfClose} the socket's output is shut after them (a client that stopped);
     * {@code mustFail} false where a lenient server may serve it.
     */
    record RawCase(int index, String category, byte[] bytes, boolean halfClose, boolean mustFail) {
    }

    /** Malformations of the request line and headers. */
    private static final List<String> HEAD_CATEGORIES = List.of("request-line", "content-length", "huge-headers",
            "huge-uri", "control-chars", "header-syntax");
    /** Bodies that end early or whose chunked framing is broken. */
    private static final List<String> BODY_CATEGORIES = List.of("truncated-body", "chunked");

    static List<RawCase> rawCases(long seed, int count, List<String> categories) throws IOException {
        Random r = new Random(seed);
        List<RawCase> cases = new ArrayList<>(count);
        while (cases.size() < count) {
            List<Base> bases = bases(r);
            Base base = bases.get(r.nextInt(bases.size()));
            byte[] body = JSON.writeValueAsBytes(base.request);
            String path = "/v2/models/" + base.model + "/infer";
            String category = categories.get(r.nextInt(categories.size()));
            String head = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                    + "Content-Type: application/json\r\n";
            String json = new String(body, StandardCharsets.ISO_8859_1);
            String request;
            boolean halfClose = false;
            boolean mustFail = true;
            switch (category) {
                case "request-line" -> request = new String[]{"GET\r\n\r\n", "FOO\r\n\r\n", "GET /v2 HTTP/9.9\r\n\r\n",
                        "GET /v2 HTTP/2.0\r\nHost: x\r\n\r\n", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
                        "GET /v2 HTTP/1.1 extra\r\nHost: x\r\n\r\n", "GET /v2 HTTPS/1.1\r\nHost: x\r\n\r\n",
                        "\u0016\u0003\u0001\u0000\u00a5\u0001\u0000\u0000\u00a1\u0003\u0003\r\n\r\n",
                        "GET http://[::1/v2 HTTP/1.1\r\nHost: x\r\n\r\n", "GET v2 HTTP/1.1\r\nHost: x\r\n\r\n",
                        " GET /v2 HTTP/1.1\r\nHost: x\r\n\r\n", "GET /v2 HTTP/1.1\rHost: x\r\r\r",
                        randomLine(r) + "\r\n\r\n"}[r.nextInt(13)];
                case "content-length" -> {
                    String[] bad = {"-1", "abc", "1, 2", "99999999999999999999", "+5", "0x10", "", "1 2",
                            String.valueOf(-body.length)};
                    request = switch (r.nextInt(4)) {
                        case 0 -> head + "Content-Length: " + bad[r.nextInt(bad.length)] + "\r\n\r\n" + json;
                        case 1 -> head + "Content-Length: " + body.length + "\r\nContent-Length: "
                                + (body.length + 1 + r.nextInt(9)) + "\r\n\r\n" + json;
                        case 2 -> head + "Content-Length: " + body.length + "\r\nTransfer-Encoding: chunked\r\n\r\n"
                                + Integer.toHexString(body.length) + "\r\n" + json + "\r\n0\r\n\r\n";
                        default -> head + "Transfer-Encoding: chunked\r\nContent-Length: " + body.length + "\r\n\r\n"
                                + json;
                    };
                }
                case "truncated-body" -> {
                    int sent = r.nextInt(body.length);
                    request = head + "Content-Length: " + body.length + "\r\n\r\n" + json.substring(0, sent);
                    halfClose = true;
                }
                case "chunked" -> {
                    String te = head + "Transfer-Encoding: chunked\r\n\r\n";
                    String chunk = Integer.toHexString(body.length) + "\r\n" + json;
                    request = switch (r.nextInt(7)) {
                        case 0 -> te + "zz\r\n" + json + "\r\n0\r\n\r\n";
                        case 1 -> {
                            mustFail = false; // no CRLF after the chunk's data: a lenient parser reads on
                            yield te + chunk + "0\r\n\r\n";
                        }
                        case 2 -> te + "ffffffffffffffffffff\r\n" + json + "\r\n0\r\n\r\n";
                        case 3 -> {
                            halfClose = true;
                            yield te + chunk.substring(0, 1 + r.nextInt(chunk.length() - 1));
                        }
                        case 4 -> {
                            halfClose = true;
                            yield te + chunk + "\r\n";
                        }
                        case 5 -> te + "-" + Integer.toHexString(body.length) + "\r\n" + json + "\r\n0\r\n\r\n";
                        default -> {
                            mustFail = false; // chunk extensions carry nothing and may be skipped unread
                            yield te + Integer.toHexString(body.length) + ";x=\u0001\r\n" + json + "\r\n0\r\n\r\n";
                        }
                    };
                }
                case "huge-headers" -> {
                    StringBuilder h = new StringBuilder(head);
                    if (r.nextBoolean()) {
                        h.append("X-Big: ").append("b".repeat(9 * 1024 + r.nextInt(64 * 1024))).append("\r\n");
                    } else {
                        for (int k = 0; k < 120 + r.nextInt(500); k++) {
                            h.append("X-H").append(k).append(": ").append("v".repeat(100)).append("\r\n");
                        }
                    }
                    request = h + "Content-Length: " + body.length + "\r\n\r\n" + json;
                }
                case "huge-uri" -> request = "GET /v2/models/" + "m".repeat(9 * 1024 + r.nextInt(64 * 1024))
                        + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
                case "control-chars" -> request = switch (r.nextInt(6)) {
                    case 0 -> "POST " + path + "%00 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: "
                            + body.length + "\r\n\r\n" + json;
                    case 1 -> "GET /v2/\u0001models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
                    case 2 -> head + "X-Ctl: a\u0000b\r\nContent-Length: " + body.length + "\r\n\r\n" + json;
                    case 3 -> head + "X-\u0007Bell: 1\r\nContent-Length: " + body.length + "\r\n\r\n" + json;
                    case 4 -> "GET /v2/models/%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
                    default -> head + "X-Del: \u007f\u0010\r\nContent-Length: " + body.length + "\r\n\r\n" + json;
                };
                default -> request = switch (r.nextInt(6)) {
                    case 0 -> head + "X-Folded: a\r\n b\r\nContent-Length: " + body.length + "\r\n\r\n" + json;
                    case 1 -> head + "Host: other\r\nContent-Length: " + body.length + "\r\n\r\n" + json;
                    case 2 -> "POST " + path + " HTTP/1.1\r\nConnection: close\r\nContent-Length: " + body.length
                            + "\r\n\r\n" + json;
                    case 3 -> head + "NoColonHere\r\nContent-Length: " + body.length + "\r\n\r\n" + json;
                    case 4 -> head + "Content-Length : " + body.length + "\r\n\r\n" + json;
                    default -> head + ": empty-name\r\nContent-Length: " + body.length + "\r\n\r\n" + json;
                };
            }
            cases.add(new RawCase(cases.size(), category, request.getBytes(StandardCharsets.ISO_8859_1), halfClose,
                    mustFail));
        }
        return cases;
    }

    private static String randomLine(Random r) {
        StringBuilder b = new StringBuilder();
        for (int k = 0; k < 1 + r.nextInt(60); k++) {
            char c = (char) (1 + r.nextInt(255));
            b.append(c == '\r' || c == '\n' ? 'x' : c);
        }
        return b.toString();
    }

    /** Sends raw bytes and reads one reply (status -1 and a failure when none came). */
    static Reply exchange(RawCase c) {
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", port)) {
            socket.setSoTimeout((int) REPLY_BOUND.toMillis());
            try {
                socket.getOutputStream().write(c.bytes);
                socket.getOutputStream().flush();
                if (c.halfClose) {
                    socket.shutdownOutput();
                }
            } catch (IOException e) {
                // the server may answer and close before reading everything (a header too large): read the reply
            }
            RawHttp.Reply r = RawHttp.read(socket.getInputStream());
            if (r.status() < 0) {
                return new Reply(-1, new byte[0], "", "connection closed without a reply");
            }
            String contentType = r.header("Content-Type");
            return new Reply(r.status(), r.body(), contentType == null ? "" : contentType, null);
        } catch (java.net.SocketTimeoutException e) {
            return new Reply(-1, new byte[0], "", "no reply within " + REPLY_BOUND.toSeconds() + " s");
        } catch (IOException e) {
            return new Reply(-1, new byte[0], "", "connection failed: " + e.getMessage());
        }
    }

    @Test
    void malformedRequestLinesAndHeadersGetJson4xxWithinTheBound() throws Exception {
        raw(SEED + 1, HEAD_CATEGORIES);
    }

    @Test
    void truncatedAndBrokenChunkedBodiesGetJson4xxWithinTheBound() throws Exception {
        raw(SEED + 2, BODY_CATEGORIES);
    }

    private static void raw(long seed, List<String> categories) throws Exception {
        List<RawCase> cases = rawCases(seed, Integer.getInteger("vigil.fuzz.rawCases", 300), categories);
        long t0 = System.nanoTime();
        List<String> failures = new ArrayList<>();
        Map<String, int[]> byCategory = new TreeMap<>();
        for (RawCase c : cases) {
            Reply reply = exchange(c);
            String problem = judge(reply, c.mustFail);
            byCategory.computeIfAbsent(c.category, k -> new int[2])[reply.status >= 400 && reply.status < 500 ? 0
                    : 1]++;
            if (problem != null) {
                String request = new String(c.bytes, 0, Math.min(c.bytes.length, 160), StandardCharsets.ISO_8859_1)
                        .replace("\r", "\\r").replace("\n", "\\n");
                failures.add("#" + c.index + " " + c.category + ": " + problem + " | reply "
                        + reply.text().substring(0, Math.min(reply.text().length(), 200)) + " | request " + request);
            }
        }
        StringBuilder summary = new StringBuilder("seed " + seed + ", " + cases.size() + " raw requests in "
                + String.format("%.1f", (System.nanoTime() - t0) / 1e9) + " s; per category [4xx, other]:");
        byCategory.forEach((k, v) -> summary.append(' ').append(k).append('=').append(v[0]).append('/').append(v[1]));
        System.out.println(summary);
        assertTrue(failures.isEmpty(), failures.size() + " wrong replies (" + summary + "):\n"
                + String.join("\n", failures.subList(0, Math.min(failures.size(), 25))));
        List<String> after = stillServesAsBefore();
        assertTrue(after.isEmpty(), "after the raw requests: " + after);
        assertEquals(0, serverErrors(), "vigil_requests_total{outcome=\"server_error\"}");
    }
}
