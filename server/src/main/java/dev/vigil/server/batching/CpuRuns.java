package dev.vigil.server.batching;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Iterator;
import java.util.Set;

/**
 * How a model's batches of padded token requests run on a CPU ({@code dynamic_batching.cpu}), where a run costs
 * about its padded tokens plus a fixed amount: the split of a batch into runs of similar length
 * ({@link LengthGroups}), and the length from which a request skips batching altogether.
 *
 * @param runCostTokens   what one more model run costs, in padded token rows: MiniLM measured ~3.2 ms of CPU per run
 *                        and ~0.18 ms per padded token (bare ONNX Runtime, batch 1 to 32 at 8 to 20 tokens), so 18
 * @param maxRunTokens    the most padded token rows (rows × longest) of a run that merges requests: merged runs of
 *                        many long sequences cost more per sequence than smaller ones
 * @param aloneFromTokens requests whose token length is at least this run alone at once, in parallel like unbatched
 *                        requests, without waiting in the queue: from there a sequence costs as much per token in a
 *                        merged run as alone; 0: every request may be merged
 */
public record CpuRuns(int runCostTokens, int maxRunTokens, int aloneFromTokens) {
    /** MiniLM's measured costs on a CPU. */
    public static final CpuRuns DEFAULTS = new CpuRuns(18, 512, 128);
    private static final Set<String> KNOWN = Set.of("run_cost_tokens", "max_run_tokens", "alone_from_tokens");

    /**
     * Reads the {@code dynamic_batching.cpu} object; a missing node is {@link #DEFAULTS}, a missing key its default.
     *
     * @throws IllegalArgumentException naming the key when a value is not valid
     */
    static CpuRuns parse(JsonNode node) {
        if (node == null || node.isMissingNode()) {
            return DEFAULTS;
        }
        if (!node.isObject()) {
            throw new IllegalArgumentException("config.json 'dynamic_batching.cpu' must be an object");
        }
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!KNOWN.contains(key)) {
                throw new IllegalArgumentException("config.json 'dynamic_batching.cpu' has unknown key '" + key
                        + "' (known: " + String.join(", ", KNOWN) + ")");
            }
        }
        return new CpuRuns(integer(node, "run_cost_tokens", DEFAULTS.runCostTokens, 0),
                integer(node, "max_run_tokens", DEFAULTS.maxRunTokens, 1),
                integer(node, "alone_from_tokens", DEFAULTS.aloneFromTokens, 0));
    }

    /** Whether a request of this token length runs alone at once. */
    boolean alone(int length) {
        return aloneFromTokens > 0 && length >= aloneFromTokens;
    }

    private static int integer(JsonNode node, String key, int fallback, int min) {
        JsonNode n = node.path(key);
        if (n.isMissingNode()) {
            return fallback;
        }
        if (!n.isIntegralNumber() || !n.canConvertToInt() || n.intValue() < min || n.intValue() > 1_000_000) {
            throw new IllegalArgumentException("config.json 'dynamic_batching.cpu." + key + "' must be an integer from "
                    + min + " to 1000000, not " + n);
        }
        return n.intValue();
    }
}
