package dev.vigil.exporter;

import ai.onnx.proto.OnnxMl.ModelProto;
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
                             KeyValueRetrievalTask task, TrainingOptions training, List<EpochResult> epochs,
                             long parameterCount) throws IOException {
        Files.createDirectories(dir);
        Files.write(dir.resolve("model.onnx"), model.toByteArray());
        JSON.writeValue(dir.resolve("config.json").toFile(), config(maxBatchSize));
        ObjectNode about = JSON.createObjectNode();
        about.set("model", JSON.valueToTree(options));
        about.put("parameters", parameterCount);
        about.put("opset", OnnxGraph.OPSET);
        about.set("task", JSON.valueToTree(task));
        about.put("vocab_size", task.vocabSize());
        about.set("training", JSON.valueToTree(training));
        ArrayNode history = about.putArray("epochs");
        epochs.forEach(e -> history.add(JSON.valueToTree(e)));
        JSON.writeValue(dir.resolve("exporter.json").toFile(), about);
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
