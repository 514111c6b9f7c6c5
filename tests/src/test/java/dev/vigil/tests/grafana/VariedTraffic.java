package dev.vigil.tests.grafana;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Sequential, varied inference traffic at a live Vigil on its own thread until stopped: MiniLM text batches of 1–8
 * sentences of different lengths, planted-outliers token batches of 1–8 right-padded sequences of
 * {@link PlantedOutliersModel#MIN_TOKENS}–32 tokens starting with BOS, and every fifth round a malformed request to
 * each model (a {@code client_error}). One request at a time, so the probe queue is not what is being tested.
 */
final class VariedTraffic implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> SENTENCES = List.of(
            "Hello!",
            "The quick brown fox jumps over the lazy dog.",
            "Vigil watches the inside of the models it serves.",
            "Massive activations often sit on the first token or on a delimiter, in a handful of fixed channels.",
            "Attention sinks dump probability mass on the first token.",
            "Int8 quantization clips outlier channels or pays for them with every other channel's resolution, "
                    + "which is why the calibration of a served model's activations matters.",
            "A short one.",
            "Le modèle répond en français aussi.");

    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final String base;
    private final String textModel;
    private final String plantedModel;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicInteger successes = new AtomicInteger();
    private final AtomicInteger clientErrors = new AtomicInteger();
    private final Thread thread;
    private volatile RuntimeException failure;

    private VariedTraffic(int port, String textModel, String plantedModel) {
        this.base = "http://127.0.0.1:" + port;
        this.textModel = textModel;
        this.plantedModel = plantedModel;
        this.thread = new Thread(this::loop, "varied-traffic");
    }

    /** Starts driving traffic at the server on {@code port}. */
    static VariedTraffic start(int port, String textModel, String plantedModel) {
        VariedTraffic t = new VariedTraffic(port, textModel, plantedModel);
        t.thread.setDaemon(true);
        t.thread.start();
        return t;
    }

    private void loop() {
        Random rnd = new Random(7);
        try {
            for (int round = 0; running.get(); round++) {
                int batch = round % 8 + 1;
                send(textModel, textRequest(rnd, batch), 200);
                send(plantedModel, plantedRequest(rnd, (round * 3) % 8 + 1), 200);
                if (round % 5 == 0) {
                    send(textModel, "{\"inputs\": [", 400);
                    send(plantedModel, "{\"inputs\":[{\"name\":\"input_ids\",\"shape\":[1,2],\"datatype\":\"INT64\","
                            + "\"data\":[1]}]}", 400);
                }
            }
        } catch (RuntimeException e) {
            failure = e;
        }
    }

    private static String textRequest(Random rnd, int batch) {
        ObjectNode req = JSON.createObjectNode();
        ObjectNode in = req.putArray("inputs").addObject();
        in.put("name", "text").put("datatype", "BYTES").putArray("shape").add(batch);
        ArrayNode data = in.putArray("data");
        for (int i = 0; i < batch; i++) {
            data.add(SENTENCES.get(rnd.nextInt(SENTENCES.size())));
        }
        req.putArray("outputs").addObject().put("name", "output_0");
        return req.toString();
    }

    private static String plantedRequest(Random rnd, int batch) {
        int seq = 32;
        ObjectNode req = JSON.createObjectNode();
        ArrayNode inputs = req.putArray("inputs");
        ObjectNode ids = inputs.addObject();
        ids.put("name", "input_ids").put("datatype", "INT64").putArray("shape").add(batch).add(seq);
        ObjectNode mask = inputs.addObject();
        mask.put("name", "attention_mask").put("datatype", "INT64").putArray("shape").add(batch).add(seq);
        ArrayNode idData = ids.putArray("data");
        ArrayNode maskData = mask.putArray("data");
        for (int b = 0; b < batch; b++) {
            int valid = PlantedOutliersModel.MIN_TOKENS + rnd.nextInt(seq - PlantedOutliersModel.MIN_TOKENS + 1);
            for (int t = 0; t < seq; t++) {
                boolean real = t < valid;
                idData.add(!real ? PlantedOutliersModel.PAD : t == 0 ? PlantedOutliersModel.BOS
                        : 2 + rnd.nextInt(PlantedOutliersModel.VOCAB - 2));
                maskData.add(real ? 1 : 0);
            }
        }
        req.putArray("outputs").addObject().put("name", "logits");
        return req.toString();
    }

    private void send(String model, String body, int expectedStatus) {
        HttpResponse<String> r;
        try {
            r = client.send(HttpRequest.newBuilder(URI.create(base + "/v2/models/" + model + "/infer"))
                            .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        if (r.statusCode() != expectedStatus) {
            throw new IllegalStateException(model + ": HTTP " + r.statusCode() + " (expected " + expectedStatus
                    + "): " + r.body());
        }
        (expectedStatus == 200 ? successes : clientErrors).incrementAndGet();
    }

    /** Successful requests so far. */
    int successes() {
        return successes.get();
    }

    /** Requests answered 4xx so far, as intended. */
    int clientErrors() {
        return clientErrors.get();
    }

    /** Throws the traffic thread's failure, if it had one (an unexpected status, a connection error). */
    void check() {
        if (failure != null) {
            throw new IllegalStateException("traffic failed: " + failure.getMessage(), failure);
        }
    }

    /** Stops after the request in flight and rethrows the thread's failure, if any. */
    @Override
    public void close() throws InterruptedException {
        running.set(false);
        thread.join(60_000);
        check();
    }
}
