package dev.vigil.server.serving;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import dev.vigil.server.batching.DynamicBatching;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Set;

/**
 * A model's {@code config.json}: the serving limits it overrides and the raw {@code probe} section, which the
 * probe layer interprets.
 *
 * @param maxBatchSize      the model's batch limit, or 0 to use the server's
 * @param maxSequenceLength the model's token limit for text and token tensor inputs, or 0 to use the server's
 * @param probe             the {@code probe} object, or a missing node when absent
 * @param dynamicBatching   the {@code dynamic_batching} settings ({@link DynamicBatching#OFF} when absent)
 */
public record ModelConfig(int maxBatchSize, int maxSequenceLength, JsonNode probe, DynamicBatching dynamicBatching) {
    private static final Set<String> KNOWN = Set.of("max_batch_size", "max_sequence_length", "probe",
            "dynamic_batching");
    private static final ObjectMapper MAPPER = new ObjectMapper();

    /** A config without dynamic batching. */
    public ModelConfig(int maxBatchSize, int maxSequenceLength, JsonNode probe) {
        this(maxBatchSize, maxSequenceLength, probe, DynamicBatching.OFF);
    }

    /** A model without config.json. */
    public static ModelConfig empty() {
        return new ModelConfig(0, 0, MissingNode.getInstance());
    }

    /**
     * Reads a config.json; an absent file is {@link #empty()}.
     *
     * @throws IllegalArgumentException naming the file and the key when it is not valid
     */
    public static ModelConfig read(Path file) throws IOException {
        if (!Files.exists(file)) {
            return empty();
        }
        JsonNode root;
        try {
            root = MAPPER.readTree(file.toFile());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("config.json is not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("config.json must hold a JSON object");
        }
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!KNOWN.contains(key)) {
                throw new IllegalArgumentException("config.json has unknown key '" + key + "' (known: "
                        + String.join(", ", KNOWN) + ")");
            }
        }
        JsonNode probe = root.path("probe");
        if (!probe.isMissingNode() && !probe.isObject()) {
            throw new IllegalArgumentException("config.json 'probe' must be an object");
        }
        return new ModelConfig(positiveInt(root, "max_batch_size"), positiveInt(root, "max_sequence_length"), probe,
                DynamicBatching.parse(root.path("dynamic_batching")));
    }

    private static int positiveInt(JsonNode root, String key) {
        JsonNode n = root.path(key);
        if (n.isMissingNode()) {
            return 0;
        }
        if (!n.isIntegralNumber() || !n.canConvertToInt() || n.intValue() < 1) {
            throw new IllegalArgumentException("config.json '" + key + "' must be a positive integer, not " + n);
        }
        return n.intValue();
    }
}
