package dev.vigil.server.batching;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * A model's {@code dynamic_batching} settings (Triton's dynamic batcher): concurrent requests that arrive within
 * {@code maxQueueDelayUs} of the oldest waiting one are run as one batch.
 *
 * @param maxQueueDelayUs     how long the oldest waiting request may wait for others, in microseconds; 0 runs every
 *                            request alone
 * @param preferredBatchSizes batch sizes (rows) sent as soon as they are reached; empty: only {@code max_batch_size}
 *                            or the delay sends a batch
 * @param maxQueueSize        requests that may wait for a batch; beyond, a request is refused with 503
 * @param cpu                 how batches of padded token requests run on a CPU
 */
public record DynamicBatching(long maxQueueDelayUs, List<Integer> preferredBatchSizes, int maxQueueSize,
                              CpuRuns cpu) {
    /** The default bound of a model's batching queue. */
    public static final int DEFAULT_MAX_QUEUE_SIZE = 128;
    private static final Set<String> KNOWN = Set.of("max_queue_delay_us", "preferred_batch_size", "max_queue_size",
            "cpu");
    /** Batching off: every request runs alone. */
    public static final DynamicBatching OFF = new DynamicBatching(0, List.of(), DEFAULT_MAX_QUEUE_SIZE,
            CpuRuns.DEFAULTS);

    public DynamicBatching {
        preferredBatchSizes = List.copyOf(preferredBatchSizes);
    }

    /** Whether requests are merged at all. */
    public boolean enabled() {
        return maxQueueDelayUs > 0;
    }

    /**
     * Reads the {@code dynamic_batching} object of a config.json; a missing node is {@link #OFF}.
     *
     * @throws IllegalArgumentException naming the key when a value is not valid
     */
    public static DynamicBatching parse(JsonNode node) {
        if (node == null || node.isMissingNode()) {
            return OFF;
        }
        if (!node.isObject()) {
            throw new IllegalArgumentException("config.json 'dynamic_batching' must be an object");
        }
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!KNOWN.contains(key)) {
                throw new IllegalArgumentException("config.json 'dynamic_batching' has unknown key '" + key
                        + "' (known: " + String.join(", ", KNOWN) + ")");
            }
        }
        JsonNode delay = node.path("max_queue_delay_us");
        long delayUs = 0;
        if (!delay.isMissingNode()) {
            if (!delay.isIntegralNumber() || !delay.canConvertToLong() || delay.longValue() < 0
                    || delay.longValue() > 60_000_000L) {
                throw new IllegalArgumentException("config.json 'dynamic_batching.max_queue_delay_us' must be an "
                        + "integer from 0 to 60000000 (one minute), not " + delay);
            }
            delayUs = delay.longValue();
        }
        List<Integer> preferred = new ArrayList<>();
        JsonNode sizes = node.path("preferred_batch_size");
        if (!sizes.isMissingNode()) {
            if (!sizes.isArray()) {
                throw new IllegalArgumentException("config.json 'dynamic_batching.preferred_batch_size' must be an "
                        + "array of positive integers, not " + sizes);
            }
            for (JsonNode s : sizes) {
                if (!s.isIntegralNumber() || !s.canConvertToInt() || s.intValue() < 1) {
                    throw new IllegalArgumentException("config.json 'dynamic_batching.preferred_batch_size' must be "
                            + "an array of positive integers, not " + sizes);
                }
                preferred.add(s.intValue());
            }
        }
        JsonNode queue = node.path("max_queue_size");
        int queueSize = DEFAULT_MAX_QUEUE_SIZE;
        if (!queue.isMissingNode()) {
            if (!queue.isIntegralNumber() || !queue.canConvertToInt() || queue.intValue() < 1) {
                throw new IllegalArgumentException("config.json 'dynamic_batching.max_queue_size' must be a "
                        + "positive integer, not " + queue);
            }
            queueSize = queue.intValue();
        }
        return new DynamicBatching(delayUs, preferred, queueSize, CpuRuns.parse(node.path("cpu")));
    }

    /**
     * Checks the settings against the model's batch limit.
     *
     * @throws IllegalArgumentException when a preferred batch size exceeds {@code maxBatchSize}
     */
    public void check(int maxBatchSize) {
        for (int size : preferredBatchSizes) {
            if (size > maxBatchSize) {
                throw new IllegalArgumentException("dynamic_batching.preferred_batch_size " + size
                        + " exceeds the model's max_batch_size " + maxBatchSize);
            }
        }
    }
}
