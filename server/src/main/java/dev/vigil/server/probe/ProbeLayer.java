package dev.vigil.server.probe;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vigil.probes.GraphTaps;
import dev.vigil.probes.OnnxModels;
import dev.vigil.probes.ProbeSite;
import dev.vigil.probes.SiteDiscovery;
import dev.vigil.probes.SiteKind;
import dev.vigil.probes.stats.ProbeSettings;
import dev.vigil.probes.stats.ProbedBatch;
import dev.vigil.server.InferRequest;
import dev.vigil.server.ModelConfig;
import dev.vigil.server.ModelPreparer;
import dev.vigil.server.RunObserver;
import dev.vigil.server.ServedModel;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The probe layer of the server: at model load it discovers the probe sites, applies the model's {@code probe}
 * settings and adds the selected site tensors as internal outputs; per request it samples, reads the tapped
 * tensors and queues them for the probe worker (the response never waits for statistics); an inspected request
 * ({@code "inspect": true}) is always probed and gets its own summary in the response as {@code probe_summary}.
 * Its metrics are read from the statistics' snapshots at scrape time.
 */
public final class ProbeLayer implements RunObserver, ModelPreparer, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ProbeLayer.class);
    /** The response field of an inspected request's summary. */
    public static final String SUMMARY_FIELD = "probe_summary";

    private final Map<String, ProbedModel> models = new ConcurrentSkipListMap<>();
    private final ProbeWorker worker;

    /**
     * @param queueCapacity probed requests that may wait for the worker; beyond, requests are dropped (counted)
     * @param registry      where the probe metrics are registered
     */
    public ProbeLayer(int queueCapacity, PrometheusRegistry registry) {
        Histogram duration = Histogram.builder().name("vigil_probe_duration_seconds")
                .help("Time the probe worker spends adding one probed request to the statistics")
                .labelNames("model").classicOnly().register(registry);
        this.worker = new ProbeWorker(queueCapacity, duration);
        Collection<ProbedModel> values = models.values();
        registry.register(new ProbeMetrics(() -> values));
    }

    @Override
    public Prepared prepare(String name, ModelConfig config, byte[] model) {
        ProbeSettings settings = ProbeConfig.parse(config.probe());
        if (!settings.enabled()) {
            models.put(name, new ProbedModel(name, settings, List.of()));
            LOG.info("Model '{}': probing disabled", name);
            return new Prepared(model, Set.of());
        }
        ModelProto proto;
        try {
            proto = OnnxModels.parse(model);
        } catch (IllegalArgumentException e) {
            // e.g. external data, which tapping would lose: served unprobed; a corrupt file fails in ORT next
            LOG.warn("Model '{}' is not probed: {}", name, e.getMessage());
            models.put(name, new ProbedModel(name, settings, List.of()));
            return new Prepared(model, Set.of());
        }
        ProbedModel probed = new ProbedModel(name, settings, SiteDiscovery.discover(proto));
        models.put(name, probed);
        LOG.info("Model '{}': probe sites per kind {} ({} discovered, {} selected, sample_rate {}, window {} tokens)",
                name, countByKind(probed.probe().sites()), probed.discovered().size(), probed.probe().sites().size(),
                settings.sampleRate(), settings.windowTokens());
        if (probed.taps().isEmpty()) {
            return new Prepared(model, Set.of());
        }
        Set<String> internal = new HashSet<>(probed.taps());
        for (ValueInfoProto out : proto.getGraph().getOutputList()) {
            internal.remove(out.getName());
        }
        return new Prepared(GraphTaps.tappedModelBytes(model, probed.taps()), internal);
    }

    private static Map<String, Integer> countByKind(List<ProbeSite> sites) {
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (SiteKind kind : SiteKind.values()) {
            counts.put(kind.label(), 0);
        }
        for (ProbeSite s : sites) {
            counts.merge(s.kind().label(), 1, Integer::sum);
        }
        return counts;
    }

    /** Drops the state of models that did not finish loading (they are not served). */
    public void retainOnly(Set<String> served) {
        models.keySet().retainAll(served);
    }

    @Override
    public Set<String> extraOutputs(ServedModel model, InferRequest request) {
        ProbedModel probed = models.get(model.name());
        if (probed == null || !probed.probed()) {
            return Set.of();
        }
        double rate = probed.settings().sampleRate();
        boolean sampled = rate >= 1.0 || (rate > 0.0 && ThreadLocalRandom.current().nextDouble() < rate);
        return sampled || inspect(request) ? probed.taps() : Set.of();
    }

    @Override
    public Map<String, JsonNode> onRun(ServedModel model, InferRequest request, Map<String, OnnxTensor> feeds,
                                       OrtSession.Result result) {
        ProbedModel probed = models.get(model.name());
        if (probed == null || !probed.probed() || !TapReader.hasTaps(probed, result)) {
            return Map.of();
        }
        try {
            ProbedBatch batch = TapReader.read(probed, feeds, result);
            Map<String, JsonNode> extras = inspect(request)
                    ? Map.of(SUMMARY_FIELD, ProbeJson.summary(probed.probe().summarize(batch))) : Map.of();
            worker.submit(probed, batch);
            return extras;
        } catch (OrtException | RuntimeException e) {
            // a request the statistics cannot take is still answered; it is just not probed
            LOG.warn("Model '{}': request not probed: {}", model.name(), e.getMessage());
            return inspect(request) ? Map.of(SUMMARY_FIELD, JsonNodeFactory.instance.objectNode()
                    .put("error", "request not probed: " + e.getMessage())) : Map.of();
        }
    }

    /** Whether the request asks for its own probe summary ({@code parameters.inspect == true}). */
    public static boolean inspect(InferRequest request) {
        return request.parameters().path("inspect").asBoolean(false);
    }

    /** The {@code /probes} body of a served model: its sites and settings; null for a model this layer lacks. */
    public ObjectNode sites(String model) {
        ProbedModel probed = models.get(model);
        return probed == null ? null : ProbeJson.sites(probed);
    }

    /** The {@code /calibration} body of a served model; null for a model this layer lacks. */
    public ObjectNode calibration(String model) {
        ProbedModel probed = models.get(model);
        return probed == null ? null : ProbeJson.calibration(probed);
    }

    @Override
    public void close() {
        worker.close();
    }
}
