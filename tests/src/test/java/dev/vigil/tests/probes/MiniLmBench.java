package dev.vigil.tests.probes;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/**
 * What the probe benches share: a model repository of MiniLM copies that differ only in config.json, and the fixed
 * request they send (B × T random word pieces as binary tensors, binary outputs).
 */
final class MiniLmBench {
    private MiniLmBench() {
    }

    /** A temporary repository holding MiniLM once per variant (a link to the bundled model) with its config.json. */
    static Path repository(String prefix, String[] variants, String[] configs) throws Exception {
        Path model = Path.of("..", "models", "all-minilm-l6-v2", "model.onnx").toAbsolutePath();
        if (!Files.isRegularFile(model)) {
            model = Path.of("models", "all-minilm-l6-v2", "model.onnx").toAbsolutePath();
        }
        Path repo = Files.createTempDirectory(prefix);
        for (int v = 0; v < variants.length; v++) {
            Path dir = Files.createDirectories(repo.resolve(variants[v]));
            Files.createSymbolicLink(dir.resolve("model.onnx"), model);
            Files.writeString(dir.resolve("config.json"), configs[v]);
        }
        return repo;
    }

    /** One binary infer call per variant, all sending {@code body}. */
    static HttpRequest[] calls(String base, String[] variants, byte[] header, byte[] body) {
        HttpRequest[] calls = new HttpRequest[variants.length];
        for (int v = 0; v < variants.length; v++) {
            calls[v] = HttpRequest.newBuilder(URI.create(base + "/v2/models/" + variants[v] + "/infer"))
                    .header("Inference-Header-Content-Length", Integer.toString(header.length))
                    .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
        }
        return calls;
    }

    /** The JSON header of a B × T request whose three INT64 inputs follow as binary data. */
    static byte[] header(int batch, int seq) {
        String[] inputs = {"input_ids", "attention_mask", "token_type_ids"};
        StringBuilder sb = new StringBuilder("{\"inputs\":[");
        for (int k = 0; k < inputs.length; k++) {
            sb.append(k > 0 ? "," : "").append("{\"name\":\"").append(inputs[k]).append("\",\"datatype\":\"INT64\",")
                    .append("\"shape\":[").append(batch).append(',').append(seq).append("],")
                    .append("\"parameters\":{\"binary_data_size\":").append(batch * seq * 8).append("}}");
        }
        return sb.append("],\"parameters\":{\"binary_data_output\":true}}").toString()
                .getBytes(StandardCharsets.UTF_8);
    }

    /** The header, then ids ([CLS] + random word pieces + [SEP], fixed seed), an all-ones mask, zero type ids. */
    static byte[] body(byte[] header, int batch, int seq) {
        Random random = new Random(42);
        ByteBuffer ids = ByteBuffer.allocate(batch * seq * 8).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer mask = ByteBuffer.allocate(batch * seq * 8).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer types = ByteBuffer.allocate(batch * seq * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < seq; t++) {
                ids.putLong(t == 0 ? 101 : t == seq - 1 ? 102 : 1000 + random.nextInt(28000));
                mask.putLong(1);
                types.putLong(0);
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(header);
        out.writeBytes(ids.array());
        out.writeBytes(mask.array());
        out.writeBytes(types.array());
        return out.toByteArray();
    }

    /** Sends {@code request}; IllegalStateException with the reply unless it is a 200. */
    static void send(HttpClient client, HttpRequest request) throws Exception {
        HttpResponse<byte[]> r = client.send(request, HttpResponse.BodyHandlers.ofByteArray());
        if (r.statusCode() != 200) {
            throw new IllegalStateException(r.statusCode() + ": " + new String(r.body(), StandardCharsets.UTF_8));
        }
    }
}
