package dev.vigil.exporter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * A minimal KServe v2 REST client for Vigil (SPEC §2): posts {@code input_ids} batches as INT64 JSON
 * tensors and reads the FP32 {@code logits}; scrapes {@code /metrics}.
 */
public final class InferenceClient {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final URI base;

    /** {@code baseUrl} like {@code http://127.0.0.1:8080}. */
    public InferenceClient(String baseUrl) {
        this.base = URI.create(baseUrl.endsWith("/") ? baseUrl : baseUrl + "/");
    }

    /**
     * Logits [batch, classes], row-major, for token ids [batch, seqLen].
     *
     * @throws IOException on a non-200 answer (with the server's error) or a response without FP32 logits
     */
    public float[] logits(String model, LabeledBatch batch) throws IOException, InterruptedException {
        ObjectNode request = JSON.createObjectNode();
        ObjectNode input = request.putArray("inputs").addObject();
        input.put("name", "input_ids");
        input.putArray("shape").add(batch.size()).add(batch.seqLen());
        input.put("datatype", "INT64");
        ArrayNode data = input.putArray("data");
        for (long id : batch.ids()) {
            data.add(id);
        }
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(base.resolve("v2/models/" + model + "/infer"))
                        .timeout(Duration.ofSeconds(120))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(request)))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IOException("infer on " + model + " answered " + response.statusCode() + ": " + response.body());
        }
        JsonNode outputs = JSON.readTree(response.body()).path("outputs");
        for (JsonNode output : outputs) {
            if ("logits".equals(output.path("name").asText())) {
                JsonNode values = output.path("data");
                float[] logits = new float[values.size()];
                for (int i = 0; i < logits.length; i++) {
                    logits[i] = (float) values.get(i).asDouble();
                }
                return logits;
            }
        }
        throw new IOException("infer on " + model + " returned no 'logits' output: " + response.body());
    }

    /** The {@code /metrics} exposition (Prometheus text format). */
    public String metrics() throws IOException, InterruptedException {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(base.resolve("metrics"))
                .timeout(Duration.ofSeconds(60)).GET().build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IOException("/metrics answered " + response.statusCode());
        }
        return response.body();
    }
}
