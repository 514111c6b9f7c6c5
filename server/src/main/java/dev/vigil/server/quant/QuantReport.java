package dev.vigil.server.quant;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vigil.probes.ProbeSite;
import dev.vigil.probes.SiteKind;
import dev.vigil.probes.stats.ProbeSnapshot;
import dev.vigil.probes.stats.WindowInfo;
import dev.vigil.server.errors.ApiException;
import dev.vigil.server.probe.ModelSnapshot;
import dev.vigil.server.probe.ProbeLayer;
import dev.vigil.server.probe.RecordedRequest;
import dev.vigil.server.probe.RequestReservoir;
import io.javalin.http.Context;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * {@code GET /v2/models/{name}/quantized/report?target_cosine=T&calibration=C}: which sites cause the int8 model's
 * output error and which few to keep float to reach a target cosine. The measurement replays the model's recorded
 * runs ({@link RequestReservoir}) on one background thread at minimum priority, never on a request thread: a sweep
 * ranks the sites ({@link QuantAdvisor#sweep}), then each target gets its advice ({@link QuantAdvisor#advise}).
 * While it runs the endpoint answers 202; once done, 200 with the report. A sweep is reused for a newer window until
 * {@code interval} has passed since it finished; at most {@value #QUEUE} computations wait (503 beyond).
 */
public final class QuantReport implements AutoCloseable {
    /** The target when the request names none. */
    public static final double DEFAULT_TARGET = 0.995;
    /** Computations that may wait for the report thread. */
    static final int QUEUE = 4;
    /** Targets whose advice each sweep keeps. */
    private static final int ADVICE_PER_SWEEP = 16;
    /** Failed computations remembered until asked once (more are forgotten). */
    private static final int FAILURES = 64;
    private static final Logger LOG = LoggerFactory.getLogger(QuantReport.class);
    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ProbeLayer probes;
    private final Function<String, Path> modelFiles;
    private final long intervalMs;
    private final ThreadPoolExecutor thread;
    private final Map<String, Sweep> sweeps = new ConcurrentHashMap<>();
    private final Map<String, Boolean> pending = new ConcurrentHashMap<>();
    private final Map<String, ApiException> failures = new ConcurrentHashMap<>();
    private final Map<String, ObjectNode> latest = new ConcurrentHashMap<>();

    /** One sweep and the advice computed from it, per target (the most recent {@value #ADVICE_PER_SWEEP}). */
    private record Sweep(SiteRanking ranking, Map<Double, KeepFp32Advice> advice) {
    }

    /**
     * @param probes     the probe layer: closed windows (clip values) and recorded runs
     * @param modelFiles a served model's name → its model.onnx (the served copy is tapped)
     * @param intervalMs a newer window is swept only this long after a model's last sweep
     */
    public QuantReport(ProbeLayer probes, Function<String, Path> modelFiles, long intervalMs) {
        this.probes = probes;
        this.modelFiles = modelFiles;
        this.intervalMs = intervalMs;
        this.thread = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(QUEUE), r -> {
            Thread t = new Thread(r, "vigil-quant-report");
            t.setDaemon(true);
            t.setPriority(Thread.MIN_PRIORITY);
            return t;
        });
    }

    /** Answers {@code /quantized/report} for the ready model {@code model}. */
    public void report(Context ctx, String model) throws IOException {
        double target = target(ctx.queryParam("target_cosine"));
        Calibration calibration = QuantizedExport.calibration(ctx);
        ProbeSnapshot snapshot = QuantizedExport.closedWindow(probes, model);
        RequestReservoir reservoir = probes.recorded(model);
        List<RecordedRequest> recorded = reservoir == null ? List.of() : reservoir.sample();
        if (recorded.isEmpty()) {
            throw new ApiException(409, "model '" + model + "' has no recorded runs to measure with"
                    + (reservoir == null || reservoir.capacity() == 0 ? " (--quant-report-requests is 0)"
                    : ": none of its probed requests was small enough (--quant-report-request-bytes)"));
        }
        String sweepKey = model + "\n" + calibration.label();
        String job = sweepKey + "\n" + target;
        ApiException failed = failures.remove(job);
        if (failed != null) {
            throw failed;
        }
        Sweep sweep = sweeps.get(sweepKey);
        if (sweep != null && fresh(sweep.ranking(), snapshot.window())) {
            KeepFp32Advice advice = sweep.advice().get(target);
            if (advice != null) {
                json(ctx, 200, report(model, sweep.ranking(), advice));
                return;
            }
        }
        if (pending.putIfAbsent(job, Boolean.TRUE) == null) {
            try {
                thread.execute(() -> compute(job, model, calibration, target));
            } catch (RejectedExecutionException e) {
                pending.remove(job);
                throw ApiException.overloaded("the quantization report is measuring " + QUEUE + " other requests; "
                        + "retry later");
            }
        }
        ObjectNode running = F.objectNode();
        running.put("model", model);
        running.put("status", "measuring");
        running.put("target_cosine", target);
        running.put("calibration", calibration.label());
        running.put("window", snapshot.window().index());
        running.put("recorded_requests", recorded.size());
        ctx.header("Retry-After", "2");
        json(ctx, 202, running);
    }

    /** The last advice computed for {@code model}, as the health page shows it; null before the first. */
    public JsonNode latest(String model) {
        return latest.get(model);
    }

    private boolean fresh(SiteRanking ranking, WindowInfo window) {
        return ranking.window().index() == window.index()
                || Instant.now().toEpochMilli() - ranking.at().toEpochMilli() < intervalMs;
    }

    private void compute(String job, String model, Calibration calibration, double target) {
        try {
            ProbeSnapshot snapshot = QuantizedExport.closedWindow(probes, model);
            ModelSnapshot m = probes.snapshot(model);
            String mask = m.settings().attentionMaskInput();
            String sweepKey = model + "\n" + calibration.label();
            byte[] bytes = read(model);
            Sweep sweep = sweeps.get(sweepKey);
            if (sweep == null || !fresh(sweep.ranking(), snapshot.window())) {
                Map<String, Double> clip = new HashMap<>();
                snapshot.quantByTensor().forEach((t, q) -> clip.put(t, calibration.clip(q)));
                List<RecordedRequest> recorded = probes.recorded(model).sample();
                if (recorded.isEmpty()) {
                    throw new ApiException(409, "model '" + model + "' has no recorded runs to measure with");
                }
                SiteRanking ranking = QuantAdvisor.sweep(bytes, calibration, snapshot.window(), clip, recorded,
                        mask);
                sweep = new Sweep(ranking, boundedMap());
                sweeps.put(sweepKey, sweep);
                LOG.info("Model '{}': quantization report swept {} sites on {} recorded runs in {} ms ({} runs)",
                        model, ranking.sites().size(), ranking.requests().size(), ranking.cost().millis(),
                        ranking.cost().runs());
            }
            KeepFp32Advice advice = sweep.advice().get(target);
            if (advice == null) {
                advice = QuantAdvisor.advise(bytes, sweep.ranking(), target, mask);
                sweep.advice().put(target, advice);
            }
            latest.put(model, summary(model, sweep.ranking(), advice));
        } catch (ApiException e) {
            fail(job, e);
        } catch (IllegalArgumentException e) {
            fail(job, new ApiException(409, "model '" + model + "' cannot be quantized: " + e.getMessage()));
        } catch (CancellationException e) {
            fail(job, ApiException.unavailable("the server is stopping"));
        } catch (Exception | OutOfMemoryError e) {
            LOG.error("Model '{}': the quantization report failed", model, e);
            fail(job, new ApiException(500, "the quantization report failed (logged)"));
        } finally {
            pending.remove(job);
        }
    }

    private void fail(String job, ApiException e) {
        if (failures.size() >= FAILURES) {
            failures.clear();
        }
        failures.put(job, e);
    }

    private byte[] read(String model) {
        try {
            return Files.readAllBytes(modelFiles.apply(model));
        } catch (IOException e) {
            // the message would name a server path
            throw new ApiException(409, "model '" + model + "': its model file can no longer be read");
        }
    }

    private static Map<Double, KeepFp32Advice> boundedMap() {
        return Collections.synchronizedMap(new LinkedHashMap<>() {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Double, KeepFp32Advice> eldest) {
                return size() > ADVICE_PER_SWEEP;
            }
        });
    }

    /** Parses {@code target_cosine}: a number in (0, 1]; the default when absent; 400 naming it otherwise. */
    static double target(String value) {
        if (value == null || value.isEmpty()) {
            return DEFAULT_TARGET;
        }
        double t;
        try {
            t = Double.parseDouble(value.strip());
        } catch (NumberFormatException e) {
            t = Double.NaN;
        }
        if (!(t > 0 && t <= 1)) {
            throw ApiException.badRequest("target_cosine must be a number in (0, 1], not '" + value + "'");
        }
        return t;
    }

    private ObjectNode report(String model, SiteRanking r, KeepFp32Advice a) {
        ObjectNode n = F.objectNode();
        n.put("model", model);
        n.put("calibration", r.calibration().label());
        n.put("target_cosine", a.target());
        n.set("window", window(r.window()));
        n.put("swept_at", r.at().toString());
        n.put("recorded_requests", r.requests().size());
        ArrayNode outputs = n.putArray("outputs");
        r.outputs().forEach(outputs::add);
        n.put("method", "quantized_alone");
        n.set("all_int8", fidelity(r.allInt8()));
        ArrayNode sites = n.putArray("sites");
        Map<String, ProbeSite> bySite = sites(model);
        ModelSnapshot m = probes.snapshot(model);
        double total = r.totalDeficit();
        int rank = 1;
        for (String t : r.ranked()) {
            ObjectNode s = sites.addObject();
            s.put("rank", rank++);
            s.put("tensor", t);
            ProbeSite site = bySite.get(t);
            if (site != null) {
                s.put("layer", site.layer());
                s.put("name", m == null ? t : m.name(site));
            }
            OutputFidelity.Summary alone = r.alone().get(t);
            s.set("cosine_mean_alone", number(alone.cosineMean()));
            s.set("cosine_worst_alone", number(alone.cosineWorst()));
            s.set("error_share", number(total > 0 ? r.deficit(t) / total : 0));
        }
        ObjectNode advice = n.putObject("advice");
        ArrayNode keep = advice.putArray("keep_fp32");
        a.keepFp32().forEach(keep::add);
        advice.put("reached", a.reached());
        advice.set("predicted_cosine_mean", number(a.predicted()));
        advice.set("checked", fidelity(a.checked()));
        advice.set("measured", fidelity(a.measured()));
        advice.put("quantized", "/v2/models/" + model + "/quantized?calibration=" + r.calibration().label()
                + (a.keepFp32().isEmpty() ? "" : "&keep_fp32="
                + URLEncoder.encode(String.join(",", a.keepFp32()), StandardCharsets.UTF_8)));
        ObjectNode cost = n.putObject("cost");
        cost.set("sweep", cost(r.cost()));
        cost.set("advice", cost(a.cost()));
        return n;
    }

    /** What the health page shows of a report. */
    private ObjectNode summary(String model, SiteRanking r, KeepFp32Advice a) {
        ObjectNode full = report(model, r, a);
        ObjectNode n = F.objectNode();
        n.put("target_cosine", a.target());
        n.put("calibration", r.calibration().label());
        n.put("window", r.window().index());
        n.put("swept_at", r.at().toString());
        n.put("recorded_requests", r.requests().size());
        n.put("sites", r.sites().size());
        n.set("all_int8", full.path("all_int8"));
        n.set("advice", full.path("advice"));
        ArrayNode keep = n.putArray("keep");
        ArrayNode top = n.putArray("top_sites");
        for (JsonNode s : full.path("sites")) {
            if (a.keepFp32().contains(s.path("tensor").asText())) {
                keep.add(s);
            }
            if (top.size() < 5) {
                top.add(s);
            }
        }
        n.set("cost", full.path("cost"));
        return n;
    }

    private Map<String, ProbeSite> sites(String model) {
        Map<String, ProbeSite> out = new HashMap<>();
        for (ProbeSite s : probes.discoveredSites(model)) {
            if (s.kind() == SiteKind.MATMUL_INPUT) {
                out.putIfAbsent(s.tensor(), s);
            }
        }
        return out;
    }

    private static ObjectNode window(WindowInfo w) {
        ObjectNode n = F.objectNode();
        n.put("index", w.index());
        n.put("tokens", w.tokens());
        n.put("requests", w.requests());
        return n;
    }

    private static ObjectNode fidelity(OutputFidelity.Summary s) {
        ObjectNode n = F.objectNode();
        n.set("cosine_mean", number(s.cosineMean()));
        n.set("cosine_worst", number(s.cosineWorst()));
        ObjectNode outputs = n.putObject("outputs");
        s.outputs().forEach((name, v) -> {
            ObjectNode o = outputs.putObject(name);
            o.set("cosine_mean", number(v[0]));
            o.set("cosine_worst", number(v[1]));
            o.put("rows", (long) v[2]);
        });
        return n;
    }

    private static ObjectNode cost(SiteRanking.Cost c) {
        ObjectNode n = F.objectNode();
        n.put("passes", c.passes());
        n.put("runs", c.runs());
        n.put("sessions", c.sessions());
        n.put("ms", c.millis());
        return n;
    }

    private static JsonNode number(double v) {
        return Double.isNaN(v) || Double.isInfinite(v) ? F.nullNode() : F.numberNode(v);
    }

    private static void json(Context ctx, int status, Object body) throws IOException {
        ctx.status(status).contentType("application/json").result(JSON.writeValueAsBytes(body));
    }

    /**
     * Stops the report thread: a sweep in progress ends after its current model run (its sessions are its own, but
     * a run still going when the JVM's shutdown hooks release ONNX Runtime's environment would crash the process).
     */
    @Override
    public void close() {
        thread.shutdownNow();
        try {
            thread.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
