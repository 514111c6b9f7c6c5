package dev.vigil.server.batching;

import dev.vigil.server.serving.AdmissionControl;
import dev.vigil.server.serving.InferenceService;
import dev.vigil.server.serving.ModelRepository;
import dev.vigil.server.serving.ServedModel;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.Map;

/**
 * The dynamic batchers of a repository's models whose {@code dynamic_batching.max_queue_delay_us} is above 0, and
 * {@code vigil_batch_queue_delay_seconds}: how long each request waited for its batch to start.
 */
public final class Batchers implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Batchers.class);
    private final Map<String, DynamicBatcher> batchers = new HashMap<>();

    /**
     * Starts a batcher per ready model that asks for one; a model whose tensors cannot be split by rows is served
     * unbatched (logged).
     *
     * @param admission bounds the model runs: each batch takes one slot while it runs
     * @param cpu       whether the models run on a CPU: then a padded batch of mixed lengths may run as several runs
     *                  of similar length
     */
    public Batchers(ModelRepository repository, InferenceService inference, AdmissionControl admission,
                    PrometheusRegistry registry, boolean cpu) {
        Histogram queueDelay = Histogram.builder().name("vigil_batch_queue_delay_seconds")
                .help("Time a request waited in its model's dynamic batching queue before its batch ran")
                .labelNames("model")
                .classicUpperBounds(0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
                .register(registry);
        for (ModelRepository.Entry e : repository.entries().values()) {
            ServedModel model = e.model();
            if (model == null || !model.config().dynamicBatching().enabled()) {
                continue;
            }
            try {
                batchers.put(model.name(), new DynamicBatcher(model, inference, admission,
                        queueDelay.labelValues(model.name()), cpu));
                LOG.info("Model '{}': dynamic batching up to {} rows, max_queue_delay_us {}, preferred sizes {}",
                        model.name(), model.maxBatchSize(), model.config().dynamicBatching().maxQueueDelayUs(),
                        model.config().dynamicBatching().preferredBatchSizes());
            } catch (IllegalArgumentException ex) {
                LOG.warn("Model '{}': dynamic batching off, requests run alone: {}", model.name(), ex.getMessage());
            }
        }
    }

    /** The batcher of a model, or null when its requests run alone. */
    public DynamicBatcher get(String model) {
        return batchers.get(model);
    }

    @Override
    public void close() {
        for (DynamicBatcher b : batchers.values()) {
            b.close();
        }
    }
}
