package dev.vigil.server.probe;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
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
import dev.vigil.probes.SiteNames;
import dev.vigil.probes.reduce.ReductionGraph;
import dev.vigil.probes.stats.AttentionInspection;
import dev.vigil.probes.stats.ProbeSettings;
import dev.vigil.probes.stats.ProbedBatch;
import dev.vigil.probes.stats.ReducedOutputs;
import dev.vigil.server.errors.ApiException;
import dev.vigil.server.protocol.Datatype;
import dev.vigil.server.protocol.InferRequest;
import dev.vigil.server.serving.ModelConfig;
import dev.vigil.server.serving.ModelPreparer;
import dev.vigil.server.serving.RunObserver;
import dev.vigil.server.serving.RunTaps;
import dev.vigil.server.serving.ServedModel;
import dev.vigil.server.serving.SessionFactory;
import dev.vigil.server.shadow.ShadowJob;
import dev.vigil.server.shadow.ShadowRunner;
import dev.vigil.server.shadow.ShadowSettings;
import dev.vigil.server.shadow.ShadowedModel;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

/**
 * The probe layer of the server: at model load it discovers the probe sites, applies the model's {@code probe}
 * settings and adds the selected site tensors as internal outputs; per request it samples, reads the tapped
 * tensors and queues them for the probe worker (the response never waits for statistics); an inspected request
 * ({@code "inspect": true}) is always probed and gets its own summary in the response as {@code probe_summary}.
 * Its metrics are read from the statistics' snapshots at scrape time.
 */
public final class ProbeLayer implements RunObserver, ModelPreparer, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ProbeLayer.class);
    /** How long an inspected request waits for its model's one run without tap buffers (others' inspections). */
    private static final long INSPECT_WAIT_NANOS = 30_000_000_000L;
    /** The response field of an inspected request's summary. */
    public static final String SUMMARY_FIELD = "probe_summary";

    private final Map<String, ProbedModel> models = new ConcurrentSkipListMap<>();
    private final Map<String, RequestReservoir> reservoirs = new ConcurrentSkipListMap<>();
    private final ProbeWorker worker;
    private final int maxTapSets;
    private final long waitNanos;
    private final TapMemoryBudget tapMemory;
    private volatile BooleanSupplier cuda = () -> false;
    private final int recordedRequests;
    private final long recordedRequestBytes;
    private final int maxAttentionMapTokens;
    private final ShadowRunner shadow = new ShadowRunner();

    /**
     * One worker, no waiting: a request that finds the queue full or every tap buffer set busy is dropped at once.
     *
     * @param queueCapacity probed requests that may wait for the worker; beyond, requests are dropped (counted)
     * @param maxInflight   model runs at once; with the queue, it bounds each model's tap buffer sets
     * @param tapBufferBytes the direct memory all models' reused tap buffers may hold together
     * @param registry      where the probe metrics are registered; no runs are recorded, and attention maps may have
     *                      up to 512 tokens (the server's default)
     */
    public ProbeLayer(int queueCapacity, int maxInflight, long tapBufferBytes, PrometheusRegistry registry) {
        this(new ProbeCapacity(queueCapacity, 1, 0), maxInflight, tapBufferBytes, 0, 1, 512, registry);
    }

    /**
     * @param capacity             the probe queue, its workers and how long a request may wait for them
     * @param recordedRequests     probed runs each model keeps recorded ({@link RequestReservoir}); 0 for none
     * @param recordedRequestBytes the largest run's inputs that may be recorded
     * @param maxAttentionMapTokens the most tokens an {@code inspect_attention} map may have; 400 above
     */
    public ProbeLayer(ProbeCapacity capacity, int maxInflight, long tapBufferBytes, int recordedRequests,
                      long recordedRequestBytes, int maxAttentionMapTokens, PrometheusRegistry registry) {
        this.maxAttentionMapTokens = maxAttentionMapTokens;
        this.recordedRequests = recordedRequests;
        this.recordedRequestBytes = recordedRequestBytes;
        Histogram duration = Histogram.builder().name("vigil_probe_duration_seconds")
                .help("Time the probe worker spends adding one probed request to the statistics")
                .labelNames("model").classicOnly().register(registry);
        this.worker = new ProbeWorker(capacity.queue(), capacity.workers(), capacity.waitMs(), duration);
        // a set is in a run, waiting for a worker, or being observed
        this.maxTapSets = capacity.queue() + maxInflight + capacity.workers();
        this.waitNanos = capacity.waitNanos();
        this.tapMemory = new TapMemoryBudget(tapBufferBytes, capacity.copyBytes());
        Collection<ProbedModel> values = models.values();
        registry.register(new ProbeMetrics(() -> values));
    }

    /**
     * Tells the layer whether models run on a CUDA device, which resolves {@code probe.strategy: auto} (graph on
     * CUDA, host on CPU); until called, models are taken to run on the CPU.
     */
    public void device(BooleanSupplier cuda) {
        this.cuda = cuda;
    }

    @Override
    public Prepared prepare(String name, ModelConfig config, byte[] model) {
        ProbeSettings settings = ProbeConfig.parse(config.probe());
        ShadowSettings shadowSettings = ShadowSettings.parse(config.probe().path("shadow"));
        if (shadowSettings.enabled() && !settings.enabled()) {
            throw new IllegalArgumentException("config.json 'probe.shadow.enabled' needs 'probe.enabled': the shadow "
                    + "model is calibrated on and compared with probed requests");
        }
        ProbeStrategy strategy = ProbeConfig.strategy(config.probe());
        if (!settings.enabled()) {
            ProbedModel unprobed = new ProbedModel(name, settings, List.of(), maxTapSets, tapMemory, Set.of());
            unprobed.shadow(shadowSettings, null);
            models.put(name, unprobed);
            LOG.debug("Model '{}': probing disabled", name);
            return new Prepared(model, Set.of());
        }
        ModelProto proto;
        try {
            proto = OnnxModels.parse(model);
        } catch (IllegalArgumentException e) {
            // e.g. external data, which tapping would lose: served unprobed; a corrupt file fails in ORT next
            LOG.warn("Model '{}' is not probed: {}", name, e.getMessage());
            models.put(name, new ProbedModel(name, settings, List.of(), maxTapSets, tapMemory, Set.of()));
            return new Prepared(model, Set.of());
        }
        Set<String> graphIo = new HashSet<>();
        proto.getGraph().getInputList().forEach(v -> graphIo.add(v.getName()));
        proto.getGraph().getOutputList().forEach(v -> graphIo.add(v.getName()));
        List<ProbeSite> discovered = SiteDiscovery.discover(proto);
        List<ProbeSite> selected = settings.select(discovered);
        ModelProto reduced = null;
        if (!selected.isEmpty() && strategy.on(cuda.getAsBoolean()) == ProbeStrategy.GRAPH) {
            try {
                reduced = ReductionGraph.withReductions(proto, selected, settings);
            } catch (IllegalArgumentException e) {
                LOG.warn("Model '{}': probe statistics computed on the host, not in the graph: {}", name,
                        e.getMessage());
            }
        }
        Set<String> reductions = reduced == null ? Set.of() : new HashSet<>(ReducedOutputs.of(selected));
        // each shadow run in flight holds a tap buffer set too
        int sets = maxTapSets + (shadowSettings.enabled() ? ShadowRunner.HELD : 0);
        ProbedModel probed = new ProbedModel(name, settings, discovered, SiteNames.of(proto, discovered), sets,
                tapMemory, graphIo, reductions);
        reservoirs.put(name, new RequestReservoir(recordedRequests, recordedRequestBytes));
        probed.shadow(shadowSettings,
                shadowSettings.enabled() ? shadowed(name, shadowSettings, probed, proto) : null);
        ProbedModel replaced = models.put(name, probed);
        if (replaced != null) {
            replaced.buffers().close();
        }
        LOG.debug("Model '{}': probe sites per kind {} ({} discovered, {} selected, sample_rate {}, window {} tokens)",
                name, countByKind(probed.probe().sites()), probed.discovered().size(), probed.probe().sites().size(),
                settings.sampleRate(), settings.windowTokens());
        if (probed.taps().isEmpty()) {
            return new Prepared(model, Set.of());
        }
        Set<String> internal = new HashSet<>(probed.taps());
        internal.addAll(reductions);
        proto.getGraph().getOutputList().forEach(v -> internal.remove(v.getName()));
        if (reduced != null) {
            // ORT runs the reductions whatever outputs a run asks for: unsampled requests run the plain model
            return new Prepared(reduced.toByteArray(), internal, settings.sampleRate() < 1.0 ? model : null);
        }
        return new Prepared(GraphTaps.tappedModelBytes(model, probed.taps()), internal);
    }

    /**
     * The shadow state of a model: its measured sites are the probed plain MatMul/Gemm {@code matmul_input} sites not
     * kept float, its compared outputs the float graph outputs.
     *
     * @throws IllegalArgumentException when {@code keep_fp32} names a tensor that is not a matmul_input site
     */
    private static ShadowedModel shadowed(String name, ShadowSettings settings, ProbedModel probed, ModelProto proto) {
        Set<String> matmulInputs = new HashSet<>();
        for (ProbeSite s : probed.discovered()) {
            if (s.kind() == SiteKind.MATMUL_INPUT) {
                matmulInputs.add(s.tensor());
            }
        }
        for (String keep : settings.keepFp32()) {
            if (!matmulInputs.contains(keep)) {
                throw new IllegalArgumentException("config.json 'probe.shadow.keep_fp32' names '" + keep + "', which is "
                        + "not a matmul_input site of the model (GET /v2/models/" + name + "/probes lists them)");
            }
        }
        List<ProbeSite> sites = new ArrayList<>();
        for (ProbeSite s : probed.probe().sites()) {
            boolean plain = s.pattern().equals("MatMul") || s.pattern().equals("Gemm");
            if (s.kind() == SiteKind.MATMUL_INPUT && plain && !settings.keepFp32().contains(s.tensor())) {
                sites.add(s);
            }
        }
        List<String> outputs = new ArrayList<>();
        for (ValueInfoProto o : proto.getGraph().getOutputList()) {
            if (o.getType().getTensorType().getElemType() == TensorProto.DataType.FLOAT_VALUE) {
                outputs.add(o.getName());
            }
        }
        return new ShadowedModel(name, settings, probed.probe(), sites, outputs);
    }

    /**
     * Starts the shadow int8 runs of the models whose {@code probe.shadow} enables them.
     *
     * @param sessions   makes the shadow sessions on the server's device
     * @param modelFiles a served model's name → its model.onnx
     * @param busy       whether requests are waiting for an inference slot (shadow runs are then skipped)
     */
    public void startShadow(SessionFactory sessions, Function<String, Path> modelFiles, BooleanSupplier busy) {
        shadow.start(sessions, modelFiles, busy);
    }

    /** A model's shadow int8 state; null when the model is unknown or not shadowed. */
    public ShadowedModel shadow(String model) {
        ProbedModel probed = models.get(model);
        return probed == null ? null : probed.shadow();
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

    /**
     * Warms a probed model's statistics before it takes requests ({@link ProbeWarmUp}), for at most {@code maxMs}:
     * until then its first probed requests would run them interpreted and could be dropped. Does nothing for a
     * model that is not probed, or when {@code maxMs} is 0; a model the warm-up cannot run is served all the same.
     */
    public void warmUp(ServedModel model, long maxMs) {
        ProbedModel probed = models.get(model.name());
        if (maxMs <= 0 || probed == null || !probed.probed()) {
            return;
        }
        try {
            ProbeWarmUp.Result r = ProbeWarmUp.run(probed, model, OrtEnvironment.getEnvironment(), maxMs * 1_000_000L);
            if (r.settled()) {
                LOG.debug("Model '{}': probe statistics warmed up in {} ms ({} runs of a {} x {} request)",
                        model.name(), r.nanos() / 1_000_000, r.runs(), r.batch(), r.tokens());
            } else {
                LOG.info("Model '{}': probe statistics still speeding up after {} ms of warm-up ({} runs of a {} x {} "
                        + "request, --probe-warmup-ms); the first probed requests may be dropped", model.name(),
                        r.nanos() / 1_000_000, r.runs(), r.batch(), r.tokens());
            }
        } catch (OrtException | RuntimeException e) {
            LOG.info("Model '{}': probe statistics not warmed up ({}); the first probed requests may be dropped",
                    model.name(), e.getMessage());
        }
    }

    /** Drops the state of models that did not finish loading (they are not served). */
    public void retainOnly(Set<String> served) {
        reservoirs.keySet().retainAll(served);
        models.values().removeIf(m -> {
            if (served.contains(m.name())) {
                return false;
            }
            m.buffers().close();
            return true;
        });
    }

    @Override
    public RunTaps beforeRun(ServedModel model, InferRequest request, Map<String, OnnxTensor> feeds) {
        ProbedModel probed = models.get(model.name());
        AttentionRequest attention = AttentionRequest.of(request);
        if (attention != null) {
            checkAttentionLayer(model.name(), probed, attention);
            checkAttentionTokens(model.name(), probed, feeds);
        }
        if (probed == null || !probed.probed()) {
            return RunTaps.NONE;
        }
        double rate = probed.settings().sampleRate();
        boolean sampled = rate >= 1.0 || (rate > 0.0 && ThreadLocalRandom.current().nextDouble() < rate);
        boolean inspect = inspect(request);
        if (!sampled && !inspect) {
            return RunTaps.NONE;
        }
        int[] bt;
        try {
            bt = TapReader.batchAndTokens(probed, feeds);
        } catch (IllegalArgumentException | ArithmeticException e) {
            LOG.warn("Model '{}': request not probed: {}", model.name(), e.getMessage());
            return RunTaps.NONE;
        }
        ShadowedModel shadowed = probed.shadow();
        boolean shadowing = sampled && shadowed != null && shadow.wants(shadowed);
        if (probed.reducesInGraph() && !inspect && !shadowing) {
            // inspected and shadowed requests need the site tensors: they take the host path
            return new ReducedRun(probed, bt[0], bt[1]);
        }
        ProbeTaps taps = taps(probed, bt[0], bt[1], inspect);
        if (taps == null && inspect) {
            throw ApiException.overloaded("server overloaded: model '" + model.name() + "' is running another "
                    + "probed request without tap buffers; retry the inspected request later");
        }
        if (taps == null) {
            probed.drop();
            return RunTaps.NONE;
        }
        if (shadowing) {
            taps.shadow(shadowed.outputs());
        }
        return taps;
    }

    /**
     * Where a probed run writes its taps: a buffer set of the model's pool, or, when the pool has no shapes yet (this
     * run teaches them), cannot learn them, or an inspected request finds every set busy, memory ORT allocates, for
     * one such run at a time per model. A sampled request waits up to the probe wait for either; null when none came.
     */
    private ProbeTaps taps(ProbedModel probed, int batch, int tokens, boolean inspect) {
        TapBufferPool pool = probed.buffers();
        long deadline = System.nanoTime() + (inspect ? INSPECT_WAIT_NANOS : waitNanos);
        for (int round = 0; round < 2; round++) {
            if (pool.pinning()) {
                TapBufferSet set = pool.acquire(batch, tokens, waitNanos);
                if (set != null) {
                    return new ProbeTaps(probed, batch, tokens, set);
                }
                if (!inspect) {
                    // no buffer set came free in time: the workers are that far behind
                    return null;
                }
            }
            ProbeTaps unpinned = ProbeTaps.withoutSet(probed, batch, tokens, Math.max(0, deadline - System.nanoTime()));
            if (unpinned == null || inspect || !pool.pinning()) {
                return unpinned;
            }
            // another run taught the pool the shapes while this one waited for the permit: a set after all
            unpinned.close();
        }
        return null;
    }

    @Override
    public Map<String, JsonNode> onRun(ServedModel model, InferRequest request, Map<String, OnnxTensor> feeds,
                                       OrtSession.Result result, RunTaps taps) {
        if (taps instanceof ReducedRun reducedRun) {
            onReducedRun(model, feeds, result, reducedRun);
            return Map.of();
        }
        if (!(taps instanceof ProbeTaps probeTaps)) {
            return Map.of();
        }
        ProbedModel probed = probeTaps.model();
        try {
            if (probeTaps.buffers() == null) {
                Map<String, long[]> shapes = TapReader.allocatedShapes(probed.pinnableTaps(), result);
                probeTaps.reportPinFailure(shapes);
                probed.buffers().learn(shapes, model.session()::declaredShape, probeTaps.batch(),
                        probeTaps.tokens());
            }
            Map<String, long[]> copied = TapReader.allocatedShapes(probeTaps.tapOutputs(), result);
            long copyBytes = TapReader.bytes(copied);
            if (!probeTaps.reserveCopies(copyBytes)) {
                probed.drop();
                String reason = "its " + copyBytes + " bytes of taps that ONNX Runtime allocated do not fit in the "
                        + "room for tap copies now (--probe-copy-mb)";
                LOG.debug("Model '{}': request not probed: {}", model.name(), reason);
                return notProbed(request, reason);
            }
            ProbedBatch batch = TapReader.read(probeTaps, feeds, result, copied);
            Map<String, JsonNode> extras = new LinkedHashMap<>();
            AttentionRequest attention = AttentionRequest.of(request);
            if (attention != null) {
                extras.put(AttentionRequest.PARAMETER, attentionPicture(model, request, probed, batch, attention));
            }
            if (wantsSummary(request)) {
                extras.put(SUMMARY_FIELD, ProbeJson.summary(probed.probe().summarize(batch)));
            }
            Runnable release = probeTaps.handOver();
            if (probeTaps.shadowed()) {
                release = shadowRun(probed, batch, feeds, result, release);
            }
            if (!worker.submit(probed, batch, release)) {
                release.run();
            }
            RequestReservoir reservoir = reservoirs.get(model.name());
            if (reservoir != null) {
                reservoir.offer(feeds);
            }
            return extras;
        } catch (ApiException e) {
            throw e;
        } catch (RuntimeException e) {
            // a request the statistics cannot take is still answered; it is just not probed
            LOG.warn("Model '{}': request not probed: {}", model.name(), e.getMessage());
            return notProbed(request, e.getMessage());
        }
    }

    /** The extras of a request that was answered but not probed: the reason, where it asked for probe output. */
    private static Map<String, JsonNode> notProbed(InferRequest request, String reason) {
        Map<String, JsonNode> extras = new LinkedHashMap<>();
        ObjectNode error = JsonNodeFactory.instance.objectNode().put("error", "request not probed: " + reason);
        if (AttentionRequest.of(request) != null) {
            extras.put(AttentionRequest.PARAMETER, error);
        }
        if (wantsSummary(request)) {
            extras.put(SUMMARY_FIELD, error);
        }
        return extras;
    }

    /**
     * Hands a shadowed request to the shadow runner, off the response path; returns the probe worker's share of
     * {@code release} (the tap buffers go back once both the worker and the shadow run are done with them).
     */
    private Runnable shadowRun(ProbedModel probed, ProbedBatch batch, Map<String, OnnxTensor> feeds,
                               OrtSession.Result result, Runnable release) {
        AtomicInteger holders = new AtomicInteger(2);
        Runnable share = () -> {
            if (holders.decrementAndGet() == 0) {
                release.run();
            }
        };
        ShadowJob job;
        try {
            job = ShadowJob.of(probed.shadow(), batch, feeds, result, share);
        } catch (OrtException | RuntimeException e) {
            LOG.debug("Model '{}': request not shadowed: {}", probed.name(), e.getMessage());
            probed.shadow().countSkipped();
            share.run();
            return share;
        }
        shadow.submit(job);
        return share;
    }

    /** Queues the reductions of a run of a model that reduces its statistics in the graph. */
    private void onReducedRun(ServedModel model, Map<String, OnnxTensor> feeds, OrtSession.Result result,
                              ReducedRun run) {
        try {
            worker.submit(run.model(), run.read(feeds, result));
            RequestReservoir reservoir = reservoirs.get(model.name());
            if (reservoir != null) {
                reservoir.offer(feeds);
            }
        } catch (RuntimeException e) {
            LOG.warn("Model '{}': request not probed: {}", model.name(), e.getMessage());
        }
    }

    /** 400 unless the model probes an attention site of the asked layer (checked before the run). */
    private static void checkAttentionLayer(String name, ProbedModel probed, AttentionRequest attention) {
        if (probed == null || probed.probe() == null) {
            throw new ApiException(400, "model '" + name + "' is not probed (probe.enabled is false), so "
                    + AttentionRequest.PARAMETER + " has no attention layer to show");
        }
        List<Integer> layers = new ArrayList<>();
        for (ProbeSite s : probed.probe().sites()) {
            if (s.kind() == SiteKind.ATTENTION) {
                layers.add(s.layer());
            }
        }
        if (!layers.contains(attention.layer())) {
            throw new ApiException(400, AttentionRequest.PARAMETER + ".layer " + attention.layer()
                    + " is not a probed attention layer of model '" + name + "'; its probed attention layers are "
                    + layers);
        }
    }

    /** 400 when the map would have more tokens than the limit (the map holds their square; checked before the run). */
    private void checkAttentionTokens(String name, ProbedModel probed, Map<String, OnnxTensor> feeds) {
        int tokens;
        try {
            tokens = TapReader.firstSequenceTokens(probed, feeds);
        } catch (IllegalArgumentException | ArithmeticException e) {
            return; // the run's probe read answers with what it cannot read
        }
        if (tokens > maxAttentionMapTokens) {
            throw new ApiException(400, AttentionRequest.PARAMETER + " maps at most " + maxAttentionMapTokens
                    + " tokens (--max-attention-map-tokens); the first sequence of this request to model '" + name
                    + "' has " + tokens);
        }
    }

    /** The request's attention picture; 400 when the head is out of range (known only from the tapped tensor). */
    private static JsonNode attentionPicture(ServedModel model, InferRequest request, ProbedModel probed,
                                             ProbedBatch batch, AttentionRequest attention) {
        AttentionInspection picture;
        try {
            picture = AttentionInspection.of(probed.probe().sites(), batch, attention.layer(), attention.head());
        } catch (IllegalArgumentException e) {
            throw new ApiException(400, e.getMessage());
        }
        String[] tokens = null;
        if (model.acceptsText() && request.inputs().size() == 1
                && request.inputs().get(0).datatype() == Datatype.BYTES) {
            tokens = model.tokenizer().tokens(request.inputs().get(0).strings()[0]);
        }
        return ProbeJson.attention(picture, tokens, probed);
    }

    /**
     * Whether the request asks to be looked at alone: its own probe summary ({@code parameters.inspect == true})
     * or its attention picture ({@code inspect_attention}). Such a request is always probed and runs alone.
     */
    public static boolean inspect(InferRequest request) {
        return wantsSummary(request) || request.parameters().has(AttentionRequest.PARAMETER);
    }

    /** Whether the response carries the request's probe summary ({@code parameters.inspect == true}). */
    private static boolean wantsSummary(InferRequest request) {
        return request.parameters().path("inspect").asBoolean(false);
    }

    /** A model's probe state; null for a model this layer lacks. */
    ProbedModel probed(String model) {
        return models.get(model);
    }

    /** The {@code /probes} body of a served model: its sites and settings; null for a model this layer lacks. */
    public ObjectNode sites(String model) {
        ProbedModel probed = models.get(model);
        return probed == null ? null : ProbeJson.sites(probed);
    }

    /**
     * The number of probed sites per kind of a model, every kind listed in discovery order; empty for a model this
     * layer does not probe (unknown, probing disabled, or a graph it cannot read).
     */
    public Map<String, Integer> siteCounts(String model) {
        ProbedModel probed = models.get(model);
        return probed == null || !probed.probed() ? Map.of() : countByKind(probed.probe().sites());
    }

    /** The current snapshot of every model whose probing is enabled, in model-name order. */
    public List<ModelSnapshot> snapshots() {
        List<ModelSnapshot> out = new ArrayList<>();
        for (ProbedModel m : models.values()) {
            if (m.probe() != null) {
                out.add(new ModelSnapshot(m.name(), m.settings(), m.probe().snapshot(), m.names()));
            }
        }
        return out;
    }

    /** The snapshot of one model whose probing is enabled; null otherwise. */
    public ModelSnapshot snapshot(String model) {
        ProbedModel m = models.get(model);
        return m == null || m.probe() == null ? null : new ModelSnapshot(m.name(), m.settings(),
                m.probe().snapshot(), m.names());
    }

    /** Every site discovery found in a model, selected or not; empty for a model this layer lacks. */
    public List<ProbeSite> discoveredSites(String model) {
        ProbedModel m = models.get(model);
        return m == null ? List.of() : m.discovered();
    }

    /** The recorded runs of a probed model; null for a model this layer does not probe. */
    public RequestReservoir recorded(String model) {
        return reservoirs.get(model);
    }

    /** The {@code /calibration} body of a served model; null for a model this layer lacks. */
    public ObjectNode calibration(String model) {
        ProbedModel probed = models.get(model);
        return probed == null ? null : ProbeJson.calibration(probed);
    }

    @Override
    public void close() {
        close(true);
    }

    /**
     * Stops the probe worker and the shadow runner, and frees the native memory of the tap buffers and shadow models
     * unless something may still be running in it (a session's or a tensor's memory freed under a run crashes ONNX
     * Runtime; the process is ending anyway).
     *
     * @param modelRunsEnded whether no model run is in progress (a run may be writing into tap buffers)
     */
    public void close(boolean modelRunsEnded) {
        worker.close();
        boolean shadowStopped = shadow.stop();
        for (ProbedModel m : models.values()) {
            if (m.shadow() != null && shadowStopped) {
                m.shadow().close();
            }
            if (modelRunsEnded) {
                m.buffers().close();
            }
        }
    }
}
