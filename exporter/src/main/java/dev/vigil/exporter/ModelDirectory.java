package dev.vigil.exporter;

import ai.onnx.proto.OnnxMl.ModelProto;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Writes one entry of Vigil's model repository: {@code model.onnx}, {@code config.json} (the SPEC §1
 * keys with their defaults) and {@code exporter.json} (how the model was built and trained; the
 * server does not read it).
 */
public final class ModelDirectory {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private ModelDirectory() {
    }

    /** Creates {@code dir} if needed and writes the three files into it. */
    public static void write(Path dir, ModelProto model, int maxBatchSize, ModelOptions options,
                             SequenceTask task, TrainingOptions training, List<EpochResult> epochs,
                             long parameterCount) throws IOException {
        Files.createDirectories(dir);
        Files.write(dir.resolve("model.onnx"), model.toByteArray());
        JSON.writeValue(dir.resolve("config.json").toFile(), config(maxBatchSize));
        ObjectNode about = JSON.createObjectNode();
        about.set("model", JSON.valueToTree(options));
        about.put("parameters", parameterCount);
        about.put("opset", OnnxGraph.OPSET);
        ObjectNode taskNode = JSON.valueToTree(task);
        taskNode.put("kind", task.kind());
        about.set("task", taskNode);
        about.put("vocab_size", task.vocabSize());
        about.set("training", JSON.valueToTree(training));
        ArrayNode history = about.putArray("epochs");
        epochs.forEach(e -> history.add(JSON.valueToTree(e)));
        JSON.writeValue(dir.resolve("exporter.json").toFile(), about);
    }

    /**
     * The task and data seed a model directory was trained on, read back from its {@code exporter.json},
     * so its training and validation sequences can be regenerated exactly.
     *
     * @throws IOException when exporter.json is missing, unreadable or names an unknown task
     */
    public static TrainedTask readTask(Path dir) throws IOException {
        Path file = dir.resolve("exporter.json");
        if (!Files.isRegularFile(file)) {
            throw new IOException("no exporter.json in " + dir + ": not a model written by the exporter");
        }
        JsonNode about = JSON.readTree(file.toFile());
        JsonNode t = about.path("task");
        JsonNode training = about.path("training");
        String kind = t.path("kind").asText(KeyValueRetrievalTask.KIND);
        SequenceTask task = switch (kind) {
            case KeyValueRetrievalTask.KIND -> new KeyValueRetrievalTask(t.path("seqLen").asInt(), t.path("keys").asInt(),
                    t.path("classes").asInt(), t.path("noise").asInt(), t.path("pairs").asInt());
            case MarkerMajorityTask.KIND -> new MarkerMajorityTask(t.path("seqLen").asInt(), t.path("classes").asInt(),
                    t.path("noise").asInt(), t.path("maxOther").asInt(), t.path("margin").asInt());
            default -> throw new IOException("unknown task kind '" + kind + "' in " + file);
        };
        return new TrainedTask(task, training.path("seed").asLong(), training.path("trainSize").asInt(),
                training.path("validationSize").asInt());
    }

    /**
     * What a model was trained on.
     *
     * @param task           the task
     * @param seed           seed of its data streams
     * @param trainSize      size of the fixed training set (0: fresh stream)
     * @param validationSize held-out sequences scored during training
     */
    public record TrainedTask(SequenceTask task, long seed, int trainSize, int validationSize) {
    }

    /** SPEC §1 config.json: the exporter's batch limit and every probe setting at its default. */
    static ObjectNode config(int maxBatchSize) {
        ObjectNode config = JSON.createObjectNode();
        config.put("max_batch_size", maxBatchSize);
        ObjectNode probe = config.putObject("probe");
        probe.put("enabled", true);
        probe.put("sample_rate", 1.0);
        probe.put("window_tokens", 16384);
        probe.put("attention_mask_input", "attention_mask");
        probe.putArray("include");
        probe.putArray("exclude");
        ObjectNode massive = probe.putObject("massive");
        massive.put("abs_threshold", 100.0);
        massive.put("median_ratio", 1000.0);
        probe.putObject("sink").put("epsilon", 0.3);
        probe.put("dormant_tau", 0.025);
        probe.put("outlier_threshold", 6.0);
        return config;
    }
}
