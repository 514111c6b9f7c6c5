package dev.vigil.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vigil.server.batching.Batchers;
import dev.vigil.server.batching.DynamicBatcher;
import dev.vigil.server.health.HealthPage;
import dev.vigil.server.http.JettySettings;
import dev.vigil.server.probe.ProbeLayer;
import dev.vigil.server.quant.QuantizedExport;
import dev.vigil.server.startup.ModelTable;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.javalin.http.HandlerType;
import io.javalin.http.HttpResponseException;
import io.javalin.http.NotFoundResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
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

    private final ServerOptions options;
    private final ServingMetrics metrics = new ServingMetrics();
    private final InferRequestParser parser = new InferRequestParser();
    private final InferResponseWriter writer = new InferResponseWriter();
    private final AdmissionControl admission;
    private final RunObserver observer;
    private final ProbeLayer probes;
    private SessionFactory sessions;
    private ModelRepository repository;
    private InferenceService inference;
    private Batchers batchers;
    private Javalin app;

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
        this.probes = new ProbeLayer(options.probeQueue(), options.maxInflight(),
                options.probeBufferMb() << 20, metrics.registry());
        this.observer = observer == null ? probes : observer;
        this.admission = new AdmissionControl(options.maxInflight(), options.maxQueue(), 60_000);
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
        JettySettings jetty = new JettySettings(options.host(), options.port(), options.maxHeaderBytes(),
                options.idleTimeoutMs());
        checkStartable(jetty);
        sessions = new SessionFactory(options.device(), options.intraOpThreads());
        repository = ModelRepository.load(options.modelsDir(), sessions, options.maxBatchSize(),
                options.maxSequenceLength(), probes);
        inference = new InferenceService(sessions.environment(), metrics, observer);
        batchers = new Batchers(repository, inference, admission, metrics.registry());
        Set<String> served = new HashSet<>();
        for (ModelRepository.Entry e : repository.entries().values()) {
            metrics.initModel(e.name());
            metrics.modelReady(e.name(), e.ready());
            if (e.ready()) {
                served.add(e.name());
            }
        }
        probes.retainOnly(served);
        for (String line : ModelTable.lines(repository.entries().values(), probes::siteCounts,
                sessions.effectiveDevice())) {
            LOG.info(line);
        }
        app = Javalin.create(cfg -> {
            cfg.showJavalinBanner = false;
            cfg.startupWatcherEnabled = false;
            cfg.http.maxRequestSize = options.maxBodyBytes();
            cfg.http.disableCompression();
            jetty.apply(cfg);
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
            if (repository.anyReady()) {
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
        app.post("/v2/repository/index", ctx -> json(ctx, 200, repositoryIndex(ctx)));
        app.get("/metrics", ctx -> {
            ByteArrayOutputStream out = new ByteArrayOutputStream(16384);
            String type = metrics.write(ctx.header("Accept"), out);
            ctx.status(200).contentType(type).result(out.toByteArray());
        });
        new HealthPage(probes).register(app);
        app.exception(ApiException.class, (e, ctx) -> error(ctx, e.status(), e.getMessage()));
        app.exception(NotFoundResponse.class, (e, ctx) ->
                error(ctx, 404, "endpoint " + ctx.req().getMethod() + " " + ctx.path() + " not found"));
        app.exception(HttpResponseException.class, (e, ctx) -> error(ctx, e.getStatus(), e.getMessage()));
        app.exception(Exception.class, (e, ctx) -> {
            LOG.error("Unexpected error on {} {}", ctx.method(), ctx.path(), e);
            error(ctx, 500, "internal error: " + e);
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
    private List<Map<String, Object>> repositoryIndex(Context ctx) throws IOException {
        boolean readyOnly = false;
        byte[] body = readBody(ctx);
        if (body.length > 0) {
            JsonNode request;
            try {
                request = JSON.readTree(body);
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw ApiException.badRequest("the repository index request must be a JSON object such as "
                        + "{\"ready\": true}: " + e.getOriginalMessage());
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
            throw new ApiException(503, "model '" + name + "' is not ready: " + entry.error());
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
            params.put("max_sequence_length", model.maxSequenceLength());
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

    private void infer(Context ctx) throws IOException {
        long t0 = System.nanoTime();
        String name = ctx.pathParam("name");
        if (repository.get(name) == null) {
            // 404 before any metric: only repository model names become label values
            readyModel(name);
        }
        int status = 500;
        try {
            ServedModel model = readyModel(name);
            byte[] body = readBody(ctx);
            long headerLength = headerLength(ctx);
            InferResponseWriter.Encoded encoded;
            DynamicBatcher batcher = batchers.get(name);
            if (batcher == null) {
                try (AdmissionControl.Permit ignored = admission.acquire()) {
                    InferRequest request = withQueryInspect(ctx, parser.parse(body, headerLength));
                    encoded = writer.encode(inference.infer(model, request));
                }
            } else {
                // the batch run takes its own slot: a request waiting for its batch holds none
                PreparedRequest prepared;
                try (AdmissionControl.Permit ignored = admission.acquire()) {
                    prepared = inference.prepare(model, withQueryInspect(ctx, parser.parse(body, headerLength)));
                }
                encoded = writer.encode(batcher.infer(prepared));
            }
            send(ctx, encoded);
            status = 200;
        } catch (ApiException e) {
            status = e.status();
            throw e;
        } finally {
            metrics.observeRequest(name, ServingMetrics.Outcome.of(status), (System.nanoTime() - t0) / 1e9);
        }
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

    private byte[] readBody(Context ctx) throws IOException {
        long limit = options.maxBodyBytes();
        long declared = ctx.req().getContentLengthLong();
        if (declared > limit) {
            throw new ApiException(413, "request body of " + declared + " bytes exceeds the limit of " + limit
                    + " bytes (--max-body-bytes)");
        }
        try (InputStream in = ctx.req().getInputStream()) {
            if (declared >= 0) {
                return in.readNBytes((int) declared);
            }
            // chunked: read up to the limit, and one byte more to tell "at the limit" from "over it"
            byte[] body = in.readNBytes((int) limit);
            if (body.length == limit && in.read() >= 0) {
                throw new ApiException(413, "request body exceeds the limit of " + limit
                        + " bytes (--max-body-bytes)");
            }
            return body;
        }
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

    private static void send(Context ctx, InferResponseWriter.Encoded encoded) throws IOException {
        ctx.status(200);
        if (!encoded.hasBinary()) {
            ctx.contentType("application/json").result(encoded.json());
            return;
        }
        ctx.contentType("application/octet-stream");
        ctx.header(HEADER_LENGTH, Integer.toString(encoded.json().length));
        ctx.res().setContentLengthLong(encoded.length());
        OutputStream out = ctx.res().getOutputStream();
        out.write(encoded.json());
        WritableByteChannel channel = Channels.newChannel(out);
        for (ByteBuffer b : encoded.binary()) {
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

    @Override
    public synchronized void close() {
        if (app != null) {
            app.stop();
            app = null;
        }
        if (batchers != null) {
            batchers.close();
            batchers = null;
        }
        probes.close();
        if (repository != null) {
            repository.close();
            repository = null;
        }
    }
}
