package dev.vigil.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vigil.server.batching.Batchers;
import dev.vigil.server.batching.DynamicBatcher;
import dev.vigil.server.errors.ApiException;
import dev.vigil.server.errors.ClientClosedException;
import dev.vigil.server.errors.PathRedactor;
import dev.vigil.server.health.HealthPage;
import dev.vigil.server.http.BodyReader;
import dev.vigil.server.http.JettySettings;
import dev.vigil.server.memory.MemoryBudget;
import dev.vigil.server.memory.RequestMemory;
import dev.vigil.server.protocol.Datatype;
import dev.vigil.server.protocol.InferRequest;
import dev.vigil.server.protocol.InferRequestParser;
import dev.vigil.server.protocol.InferResponse;
import dev.vigil.server.protocol.InferResponseWriter;
import dev.vigil.server.protocol.TensorSpec;
import dev.vigil.server.serving.AdmissionControl;
import dev.vigil.server.serving.InflightRequests;
import dev.vigil.server.serving.InferenceService;
import dev.vigil.server.serving.ModelRepository;
import dev.vigil.server.serving.PreparedRequest;
import dev.vigil.server.serving.RunObserver;
import dev.vigil.server.serving.ServedModel;
import dev.vigil.server.serving.ServingMetrics;
import dev.vigil.server.serving.SessionFactory;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import dev.vigil.server.probe.ProbeCapacity;
import dev.vigil.server.probe.ProbeLayer;
import dev.vigil.server.quant.QuantReport;
import dev.vigil.server.quant.QuantizedExport;
import dev.vigil.server.startup.ModelTable;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.javalin.http.HandlerType;
import io.javalin.http.HttpResponseException;
import io.javalin.http.MethodNotAllowedResponse;
import io.javalin.http.NotFoundResponse;
import org.eclipse.jetty.server.HttpChannel;
import org.eclipse.jetty.server.Request;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;

/**
 * The Vigil HTTP server: loads the model repository and serves it over the KServe v2 REST protocol (with the
 * binary tensor data extension) plus {@code /metrics}. Start with {@link #start()}, stop with {@link #close()}.
 */
public final class VigilServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(VigilServer.class);
    private static final String HEADER_LENGTH = "Inference-Header-Content-Length";
    private static final String VERSION = "0.1.0";
    /** The version of every served model. */
    private static final String MODEL_VERSION = "1";
    /** The name metadata gives a tokenizer model's text input (a text request may name it anything). */
    private static final String TEXT_INPUT = "text";
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Marks an inference exchange counted in {@link #inflight}: it is counted out when Jetty completes it. */
    private static final String INFLIGHT_ATTRIBUTE = "dev.vigil.inflight";

    private final ServerOptions options;
    private final ServingMetrics metrics = new ServingMetrics();
    private final InferRequestParser parser = new InferRequestParser();
    private final InferResponseWriter writer = new InferResponseWriter();
    private final AdmissionControl admission;
    private final InflightRequests inflight = new InflightRequests();
    /** Whether {@link #close()} ended with no model run in progress. */
    private volatile boolean runsEnded = true;
    private final MemoryBudget requestMemory;
    private final ScheduledThreadPoolExecutor deadlines;
    private final BodyReader bodies;
    private final RunObserver observer;
    private final ProbeLayer probes;
    private final PathRedactor paths;
    private SessionFactory sessions;
    private ModelRepository repository;
    private InferenceService inference;
    private Batchers batchers;
    private Javalin app;
    private QuantReport report;

    /** A server whose probe layer observes every run (SPEC §3–§5). */
    public VigilServer(ServerOptions options) {
        this(options, null);
    }

    /**
     * A server with another run observer in place of the probe layer's: models are still tapped as their
     * {@code probe} settings say, but no run reaches the statistics.
     *
     * @param observer sees every model run while its tensors are alive; null for the probe layer
     */
    public VigilServer(ServerOptions options, RunObserver observer) {
        this.options = options;
        ProbeCapacity capacity = new ProbeCapacity(options.probeQueue(), options.probeWorkers(),
                options.probeWaitMs(), options.probeCopyMb() << 20);
        this.probes = new ProbeLayer(capacity, options.maxInflight(), options.probeBufferMb() << 20,
                options.reportRequests(), options.reportRequestBytes(), options.maxAttentionMapTokens(),
                metrics.registry());
        this.observer = observer == null ? probes : observer;
        this.admission = new AdmissionControl(options.maxInflight(), options.maxQueue(), 60_000);
        this.requestMemory = new MemoryBudget(options.bodyBudgetMb() << 20);
        this.deadlines = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "vigil-body-deadlines");
            t.setDaemon(true);
            return t;
        });
        deadlines.setRemoveOnCancelPolicy(true);
        this.bodies = new BodyReader(options.maxBodyBytes(), options.bodyTimeoutMs(), options.idleTimeoutMs(),
                deadlines);
        GaugeWithCallback.builder().name("vigil_request_memory_bytes")
                .help("Bytes that request bodies in progress and their decoded tensors hold (--body-budget-mb)")
                .callback(cb -> cb.call(requestMemory.used())).register(metrics.registry());
        GaugeWithCallback.builder().name("vigil_request_memory_limit_bytes")
                .help("The request memory budget (--body-budget-mb)")
                .callback(cb -> cb.call(requestMemory.limit())).register(metrics.registry());
        this.paths = new PathRedactor(options.modelsDir());
    }

    /**
     * Loads the models and starts listening.
     *
     * @return the bound port (the chosen one when the options ask for port 0)
     * @throws StartupException before any model loads when the model directory or the port cannot be used
     * @throws IOException      when the model directory cannot be read
     */
    public synchronized int start() throws IOException {
        if (app != null) {
            throw new IllegalStateException("already started");
        }
        int maxConnections = JettySettings.connectionCap(options.maxConnections());
        if (maxConnections < options.maxConnections()) {
            LOG.info("At most {} connections at once, not {} (--max-connections): the open-file limit (ulimit -n) "
                    + "leaves that many once the files the server itself needs are counted", maxConnections,
                    options.maxConnections());
        }
        JettySettings jetty = new JettySettings(options.host(), options.port(), options.maxHeaderBytes(),
                options.idleTimeoutMs(), options.headerTimeoutMs(), maxConnections);
        checkStartable(jetty);
        sessions = new SessionFactory(options.device(), options.intraOpThreads());
        probes.device(sessions::cuda);
        repository = ModelRepository.load(options.modelsDir(), sessions, options.maxBatchSize(),
                options.maxSequenceLength(), probes);
        inference = new InferenceService(sessions.environment(), metrics, observer);
        batchers = new Batchers(repository, inference, admission, metrics.registry(),
                sessions.effectiveDevice().equals("cpu"));
        Set<String> served = new HashSet<>();
        for (ModelRepository.Entry e : repository.entries().values()) {
            metrics.initModel(e.name());
            metrics.modelReady(e.name(), e.ready());
            if (e.ready()) {
                served.add(e.name());
            }
        }
        probes.retainOnly(served);
        for (ModelRepository.Entry e : repository.entries().values()) {
            if (e.ready()) {
                probes.warmUp(e.model(), options.probeWarmUpMs());
            }
        }
        probes.startShadow(sessions, repository::modelFile, () -> admission.queued() > 0);
        for (String line : ModelTable.lines(repository.entries().values(), probes::siteCounts,
                sessions.effectiveDevice())) {
            LOG.info(line);
        }
        app = Javalin.create(cfg -> {
            cfg.showJavalinBanner = false;
            cfg.startupWatcherEnabled = false;
            cfg.http.maxRequestSize = options.maxBodyBytes();
            cfg.http.disableCompression();
            cfg.http.prefer405over404 = true;
            jetty.apply(cfg, new HttpChannel.Listener() {
                @Override
                public void onComplete(Request request) {
                    // the end of the exchange, its response's last byte written (or the exchange failed)
                    if (request.getAttribute(INFLIGHT_ATTRIBUTE) != null) {
                        inflight.exit();
                    }
                }
            });
        });
        routes(app);
        try {
            app.start();
        } catch (RuntimeException e) {
            app = null;
            throw new StartupException("cannot listen on " + options.host() + ":" + options.port() + ": "
                    + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage()));
        }
        LOG.info("Vigil listening on http://{}:{}", options.host(), app.port());
        return app.port();
    }

    /** Fails with one line when the model directory is missing or unreadable, or the port is taken. */
    private void checkStartable(JettySettings jetty) throws StartupException {
        Path dir = options.modelsDir();
        if (!Files.isDirectory(dir)) {
            throw new StartupException("model repository " + dir.toAbsolutePath() + " is not a directory (--models)");
        }
        if (!Files.isReadable(dir) || !Files.isExecutable(dir)) {
            throw new StartupException("model repository " + dir.toAbsolutePath() + " cannot be read (--models)");
        }
        try {
            jetty.checkPortFree();
        } catch (IOException e) {
            throw new StartupException(e.getMessage() + " (--host/--port)");
        }
    }

    /** The bound port; valid after {@link #start()}. */
    public int port() {
        return app.port();
    }

    /** The loaded repository; valid after {@link #start()}. */
    public ModelRepository repository() {
        return repository;
    }

    /** Runs requests without HTTP; valid after {@link #start()}. */
    public InferenceService inference() {
        return inference;
    }

    /** The serving metrics (and their registry, for other metrics to join). */
    public ServingMetrics metrics() {
        return metrics;
    }

    private void routes(Javalin app) {
        app.get("/v2/health/live", ctx -> json(ctx, 200, Map.of("live", true)));
        app.get("/v2/health/ready", ctx -> {
            if (inflight.draining()) {
                error(ctx, 503, "the server is shutting down");
            } else if (repository.anyReady()) {
                json(ctx, 200, Map.of("ready", true));
            } else {
                error(ctx, 503, "no model is ready");
            }
        });
        app.get("/v2", ctx -> json(ctx, 200, Map.of("name", "vigil", "version", VERSION,
                "extensions", List.of("binary_tensor_data"))));
        modelRoute(app, HandlerType.GET, "", ctx -> json(ctx, 200, metadata(readyModel(ctx.pathParam("name")))));
        modelRoute(app, HandlerType.GET, "/ready", ctx -> {
            ServedModel model = readyModel(ctx.pathParam("name"));
            json(ctx, 200, Map.of("name", model.name(), "ready", true));
        });
        modelRoute(app, HandlerType.POST, "/infer", this::infer);
        modelRoute(app, HandlerType.GET, "/probes", ctx -> json(ctx, 200, probeBody(ctx.pathParam("name"), false)));
        QuantizedExport quantized = new QuantizedExport(probes, repository::modelFile);
        modelRoute(app, HandlerType.GET, "/calibration", ctx -> {
            String format = ctx.queryParam("format");
            if (format == null || format.equals("json")) {
                json(ctx, 200, probeBody(ctx.pathParam("name"), true));
            } else {
                quantized.calibrationTable(ctx, readyModel(ctx.pathParam("name")).name(), format);
            }
        });
        modelRoute(app, HandlerType.GET, "/quantized",
                ctx -> quantized.export(ctx, readyModel(ctx.pathParam("name")).name()));
        report = new QuantReport(probes, repository::modelFile, options.reportIntervalS() * 1000);
        modelRoute(app, HandlerType.GET, "/quantized/report",
                ctx -> report.report(ctx, readyModel(ctx.pathParam("name")).name()));
        app.post("/v2/repository/index", ctx -> {
            RequestMemory memory = new RequestMemory(requestMemory);
            ctx.future(() -> bodies.read(ctx.req(), memory)
                    .thenAccept(body -> jsonUnchecked(ctx, 200, repositoryIndex(body)))
                    .whenComplete((done, failure) -> memory.close()));
        });
        app.get("/metrics", ctx -> {
            ByteArrayOutputStream out = new ByteArrayOutputStream(16384);
            String type = metrics.write(ctx.header("Accept"), out);
            ctx.status(200).contentType(type).result(out.toByteArray());
        });
        new HealthPage(probes, report::latest).register(app);
        app.exception(ApiException.class, (e, ctx) -> error(ctx, e.status(), e.getMessage()));
        app.exception(MethodNotAllowedResponse.class, (e, ctx) -> {
            // Javalin's one detail lists the methods the path has ("GET, POST")
            String allowed = String.join(", ", e.getDetails().values());
            ctx.header("Allow", allowed);
            error(ctx, 405, "method " + ctx.req().getMethod() + " is not allowed on " + ctx.path()
                    + "; allowed: " + allowed);
        });
        app.exception(NotFoundResponse.class, (e, ctx) ->
                error(ctx, 404, "endpoint " + ctx.req().getMethod() + " " + ctx.path() + " not found"));
        app.exception(HttpResponseException.class, (e, ctx) -> error(ctx, e.getStatus(), e.getMessage()));
        app.exception(ClientClosedException.class, (e, ctx) ->
                LOG.debug("{} {}: {}", ctx.method(), ctx.path(), e.getMessage()));
        app.exception(Exception.class, (e, ctx) -> {
            LOG.error("Unexpected error on {} {}", ctx.method(), ctx.path(), e);
            error(ctx, 500, e.getMessage() == null ? "internal error (logged)"
                    : "internal error (logged): " + paths.redact(e.getMessage()));
        });
        app.error(404, ctx -> {
            if (ctx.result() == null) {
                error(ctx, 404, "endpoint " + ctx.req().getMethod() + " " + ctx.path() + " not found");
            }
        });
    }

    /**
     * Serves a model route at {@code /v2/models/{name}<suffix>} and at {@code /v2/models/{name}/versions/{version}<suffix>}:
     * every model has the one version {@value #MODEL_VERSION}; another version is 404.
     */
    private void modelRoute(Javalin app, HandlerType method, String suffix, Handler handler) {
        app.addHttpHandler(method, "/v2/models/{name}" + suffix, handler);
        app.addHttpHandler(method, "/v2/models/{name}/versions/{version}" + suffix, ctx -> {
            String version = ctx.pathParam("version");
            if (!MODEL_VERSION.equals(version)) {
                String name = ctx.pathParam("name");
                readyModel(name);
                throw new ApiException(404, "model '" + name + "' has no version '" + version
                        + "'; its only version is " + MODEL_VERSION);
            }
            handler.handle(ctx);
        });
    }

    /**
     * Triton's repository index: every model with its state. A body {@code {"ready": true}} lists only the ready
     * ones; an empty body lists all.
     */
    private List<Map<String, Object>> repositoryIndex(byte[] body) {
        boolean readyOnly = false;
        if (body.length > 0) {
            JsonNode request;
            try {
                request = JSON.readTree(body);
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw ApiException.badRequest("the repository index request must be a JSON object such as "
                        + "{\"ready\": true}: " + e.getOriginalMessage());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            if (request != null && !request.isMissingNode()) {
                JsonNode ready = request.path("ready");
                if (!request.isObject() || !(ready.isMissingNode() || ready.isBoolean())) {
                    throw ApiException.badRequest("the repository index request must be a JSON object whose "
                            + "optional 'ready' is a boolean, not " + request);
                }
                readyOnly = ready.asBoolean(false);
            }
        }
        List<Map<String, Object>> index = new ArrayList<>();
        for (ModelRepository.Entry e : repository.entries().values()) {
            if (readyOnly && !e.ready()) {
                continue;
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", e.name());
            m.put("version", MODEL_VERSION);
            m.put("state", e.ready() ? "READY" : "UNAVAILABLE");
            m.put("reason", e.ready() ? "" : e.error());
            index.add(m);
        }
        return index;
    }

    /** The ready model of this name; 404 when the repository has none, 503 with the reason when it failed. */
    private ServedModel readyModel(String name) {
        ModelRepository.Entry entry = repository.get(name);
        if (entry == null) {
            throw new ApiException(404, "unknown model '" + name + "'; the repository has "
                    + repository.entries().keySet());
        }
        if (!entry.ready()) {
            throw ApiException.unavailable("model '" + name + "' is not ready: " + entry.error());
        }
        return entry.model();
    }

    /** The probe sites or calibration of a ready model; a model the probe layer does not probe has none. */
    private Object probeBody(String name, boolean calibration) {
        ServedModel model = readyModel(name);
        Object body = calibration ? probes.calibration(model.name()) : probes.sites(model.name());
        return body != null ? body : Map.of("name", model.name(), calibration ? "tensors" : "sites", List.of());
    }

    private static Map<String, Object> metadata(ServedModel model) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", model.name());
        m.put("versions", List.of(MODEL_VERSION));
        m.put("platform", "onnxruntime_onnx");
        List<Map<String, Object>> inputs = specs(model.session().inputs());
        if (model.acceptsText()) {
            // the server tokenizes a BYTES input of strings (any name) into the token inputs listed beside it
            Map<String, Object> text = new LinkedHashMap<>();
            text.put("name", TEXT_INPUT);
            text.put("datatype", Datatype.BYTES.name());
            text.put("shape", List.of(-1));
            inputs.add(text);
        }
        m.put("inputs", inputs);
        m.put("outputs", specs(model.session().outputs()));
        Map<String, Object> params = new LinkedHashMap<>();
        params.put("max_batch_size", model.maxBatchSize());
        if (model.acceptsText()) {
            params.put("text_input", true);
        }
        if (model.acceptsText() || !model.inputRules().tokenAxes().isEmpty()) {
            params.put("max_sequence_length", model.maxSequenceLength());
        }
        if (!model.inputRules().vocabulary().isEmpty()) {
            // what a client needs to send valid ids (the health page's attention picture checks them before sending)
            params.put("vocabulary_size", model.inputRules().vocabulary());
        }
        m.put("parameters", params);
        return m;
    }

    private static List<Map<String, Object>> specs(List<TensorSpec> specs) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (TensorSpec s : specs) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", s.name());
            m.put("datatype", s.datatype().name());
            m.put("shape", s.shape());
            out.add(m);
        }
        return out;
    }

    /**
     * Reads the body without holding a thread while it arrives, then parses and runs it on the thread that read its
     * last bytes. The request's memory (body and decoded tensors) is freed when the request ends, however it ends.
     */
    private void infer(Context ctx) {
        long t0 = System.nanoTime();
        String name = ctx.pathParam("name");
        if (repository.get(name) == null) {
            // 404 before any metric: only repository model names become label values
            readyModel(name);
        }
        ServedModel model;
        long headerLength;
        try {
            model = readyModel(name);
            headerLength = headerLength(ctx);
        } catch (ApiException e) {
            metrics.observeRequest(name, e.outcome(), (System.nanoTime() - t0) / 1e9);
            throw e;
        }
        if (!inflight.enter()) {
            ApiException refused = ApiException.unavailable("the server is shutting down; send the request to another "
                    + "replica");
            metrics.observeRequest(name, refused.outcome(), (System.nanoTime() - t0) / 1e9);
            throw refused;
        }
        ctx.req().setAttribute(INFLIGHT_ATTRIBUTE, Boolean.TRUE);
        RequestMemory memory = new RequestMemory(requestMemory);
        ctx.future(() -> bodies.read(ctx.req(), memory)
                .thenAccept(body -> respond(ctx, model, body, headerLength, memory))
                .whenComplete((done, failure) -> {
                    memory.close();
                    metrics.observeRequest(name, outcome(failure), (System.nanoTime() - t0) / 1e9);
                }));
    }

    private void respond(Context ctx, ServedModel model, byte[] body, long headerLength, RequestMemory memory) {
        InferResponse response;
        DynamicBatcher batcher = batchers.get(model.name());
        if (batcher == null) {
            try (AdmissionControl.Permit ignored = admission.acquire()) {
                InferRequest request = withQueryInspect(ctx, parser.parse(body, headerLength, memory));
                response = inference.infer(model, request);
            }
        } else {
            // the batch run takes its own slot: a request waiting for its batch holds none
            PreparedRequest prepared;
            try (AdmissionControl.Permit ignored = admission.acquire()) {
                prepared = inference.prepare(model, withQueryInspect(ctx, parser.parse(body, headerLength, memory)));
            }
            try {
                response = batcher.infer(prepared);
            } catch (RuntimeException | Error e) {
                // a request that gave up waiting may still be in the batch queue: its buffers must outlive it
                memory.leaveBuffersToCollector();
                throw e;
            }
        }
        // written outside the model slot: a client that reads slowly holds a thread, not a run
        try {
            send(ctx, response);
        } catch (IOException e) {
            throw ClientClosedException.of(e);
        }
    }

    private static void jsonUnchecked(Context ctx, int status, Object body) {
        try {
            json(ctx, status, body);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** What a finished request counts as: an API error's own outcome, anything else unexpected a server error. */
    private static ServingMetrics.Outcome outcome(Throwable failure) {
        if (failure == null) {
            return ServingMetrics.Outcome.SUCCESS;
        }
        Throwable cause = failure instanceof CompletionException && failure.getCause() != null
                ? failure.getCause() : failure;
        if (cause instanceof ClientClosedException) {
            return ServingMetrics.Outcome.CLIENT_ERROR;
        }
        return cause instanceof ApiException api ? api.outcome() : ServingMetrics.Outcome.SERVER_ERROR;
    }

    /** {@code ?inspect=true} is the same as the request parameter {@code "inspect": true}. */
    private static InferRequest withQueryInspect(Context ctx, InferRequest request) {
        String q = ctx.queryParam("inspect");
        if (q == null || !q.equalsIgnoreCase("true")) {
            return request;
        }
        ObjectNode params = request.parameters().isObject() ? ((ObjectNode) request.parameters()).deepCopy()
                : JSON.createObjectNode();
        params.put("inspect", true);
        return new InferRequest(request.id(), request.inputs(), request.outputs(), request.binaryOutput(), params);
    }

    private static long headerLength(Context ctx) {
        String h = ctx.header(HEADER_LENGTH);
        if (h == null) {
            return -1;
        }
        try {
            return Long.parseLong(h.trim());
        } catch (NumberFormatException e) {
            throw ApiException.badRequest(HEADER_LENGTH + " must be an integer, not '" + h + "'");
        }
    }

    /**
     * Sends a response. All-JSON responses stream as they are formatted (chunked when larger than the server's
     * output buffer, with a Content-Length otherwise); with binary outputs the JSON header is sized first.
     */
    private void send(Context ctx, InferResponse response) throws IOException {
        ctx.status(200);
        OutputStream out;
        if (InferResponseWriter.allJson(response)) {
            ctx.contentType("application/json");
            out = ctx.res().getOutputStream();
            // not flushed: a response that fits the output buffer is sent whole, with its Content-Length
            writer.writeJson(response, out);
            return;
        }
        InferResponseWriter.Encoded encoded = writer.encode(response);
        ctx.contentType("application/octet-stream");
        ctx.header(HEADER_LENGTH, Integer.toString(encoded.json().length));
        ctx.res().setContentLengthLong(encoded.length());
        out = ctx.res().getOutputStream();
        out.write(encoded.json());
        WritableByteChannel channel = null;
        for (ByteBuffer b : encoded.binary()) {
            if (b.hasArray()) {
                // one write: the container sends a large array as it is, with no copy into its buffer
                out.write(b.array(), b.arrayOffset() + b.position(), b.remaining());
                continue;
            }
            channel = channel != null ? channel : Channels.newChannel(out);
            ByteBuffer part = b.duplicate();
            while (part.hasRemaining()) {
                channel.write(part);
            }
        }
        out.flush();
    }

    private static void json(Context ctx, int status, Object body) throws IOException {
        ctx.status(status).contentType("application/json").result(JSON.writeValueAsBytes(body));
    }

    private static void error(Context ctx, int status, String message) {
        try {
            json(ctx, status, Map.of("error", message));
        } catch (IOException e) {
            ctx.status(status).result("{\"error\":\"unserializable error\"}");
        }
    }

    /**
     * Whether the server, once closed, has no model run in progress: false when runs outlived
     * {@code --shutdown-timeout-ms}, and then the process must not run the JVM's shutdown hooks (ONNX Runtime's
     * releases its environment under them).
     */
    public boolean modelRunsEnded() {
        return runsEnded;
    }

    @Override
    public synchronized void close() {
        long deadline = System.nanoTime() + options.shutdownTimeoutMs() * 1_000_000L;
        if (app != null) {
            LOG.info("Vigil stopping: not ready, new inference requests refused, those in progress finishing "
                    + "(at most {} ms, --shutdown-timeout-ms)", options.shutdownTimeoutMs());
            int left = inflight.drain(options.shutdownTimeoutMs());
            if (left > 0) {
                LOG.warn("Stopping with {} inference request(s) still in progress after {} ms (--shutdown-timeout-ms)",
                        left, options.shutdownTimeoutMs());
            }
            app.stop();
            app = null;
        }
        if (batchers != null) {
            batchers.close();
            batchers = null;
        }
        boolean idle = admission.close(Math.max(0, (deadline - System.nanoTime()) / 1_000_000L));
        runsEnded = idle;
        deadlines.shutdownNow();
        if (report != null) {
            report.close();
            report = null;
        }
        probes.close(idle);
        if (repository != null) {
            if (idle) {
                repository.close();
            } else {
                // closing a session while a run is inside it crashes ONNX Runtime: the process is ending anyway
                LOG.warn("Model sessions left open: model runs are still in progress");
            }
            repository = null;
            LOG.info("Vigil stopped");
        }
    }
}
