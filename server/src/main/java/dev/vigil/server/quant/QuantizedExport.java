package dev.vigil.server.quant;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.vigil.probes.OnnxModels;
import dev.vigil.probes.ProbeSite;
import dev.vigil.probes.QdqExport;
import dev.vigil.probes.SiteKind;
import dev.vigil.probes.stats.ProbeSnapshot;
import dev.vigil.probes.stats.WindowInfo;
import dev.vigil.server.errors.ApiException;
import dev.vigil.server.probe.ModelSnapshot;
import dev.vigil.server.probe.ProbeLayer;
import dev.vigil.server.shadow.ShadowModel;
import dev.vigil.server.shadow.ShadowedModel;
import io.javalin.http.Context;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Semaphore;
import java.util.function.Function;

/**
 * {@code GET /v2/models/{name}/quantized?calibration=absmax|percentile&keep_fp32=T1,T2&activations=int8|uint8}: the
 * served model as static int8 QDQ ONNX, calibrated on the last closed window of its probes, and {@code GET .../calibration?format=tensorrt}:
 * the same window's ranges as a TensorRT calibration cache. One export runs at a time (it holds the model three
 * times over in memory); another is answered 503 at once.
 */
public final class QuantizedExport {
    /** The calibration when the request names none. */
    public static final Calibration DEFAULT_CALIBRATION = Calibration.PERCENTILE;

    private final ProbeLayer probes;
    private final Function<String, Path> modelFiles;
    private final Semaphore running = new Semaphore(1);

    /**
     * @param probes     the probe layer whose windows calibrate the export
     * @param modelFiles a served model's name → its model.onnx (read again per export: the served copy is tapped)
     */
    public QuantizedExport(ProbeLayer probes, Function<String, Path> modelFiles) {
        this.probes = probes;
        this.modelFiles = modelFiles;
    }

    /** Answers {@code /quantized} for the ready model {@code model}. */
    public void export(Context ctx, String model) {
        String from = ctx.queryParam("source");
        if (from != null && !from.equals("window")) {
            if (!from.equals("shadow")) {
                throw new ApiException(400, "unknown source '" + from + "'; use window (the default: calibrated on "
                        + "the last closed window) or shadow (the model the shadow int8 comparison runs)");
            }
            shadow(ctx, model);
            return;
        }
        Calibration calibration = calibration(ctx);
        QdqExport.ActivationType activations = activations(ctx);
        Set<String> keep = keepFp32(ctx, model);
        ProbeSnapshot snapshot = closedWindow(probes, model);
        if (!running.tryAcquire()) {
            throw new ApiException(503, "another quantized export is running; retry when it is done");
        }
        try {
            ModelProto source;
            try {
                source = OnnxModels.read(modelFiles.apply(model));
            } catch (java.io.UncheckedIOException | IllegalArgumentException e) {
                // the message would name a server path
                throw new ApiException(409, "model '" + model + "': its model file can no longer be read");
            }
            QdqExport.Result result;
            try {
                result = quantize(model, source, snapshot, calibration, keep, activations);
            } catch (IllegalArgumentException e) {
                throw new ApiException(409, e.getMessage());
            }
            WindowInfo w = snapshot.window();
            byte[] body = result.model().toByteArray();
            ctx.status(200).contentType("application/octet-stream")
                    .header("Content-Disposition", "attachment; filename=\"" + model + "-int8-" + calibration.label()
                            + ".onnx\"")
                    .header("X-Vigil-Window", Long.toString(w.index()))
                    .result(body);
        } finally {
            running.release();
        }
    }

    /** Answers {@code /quantized?source=shadow}: the bytes of the shadow model running now. */
    private void shadow(Context ctx, String model) {
        if (ctx.queryParam("calibration") != null || !ctx.queryParams("keep_fp32").isEmpty()
                || ctx.queryParam("activations") != null) {
            throw new ApiException(400, "source=shadow takes no calibration, keep_fp32 or activations: the shadow "
                    + "model's come from probe.shadow in the model's config.json");
        }
        ShadowedModel shadowed = probes.shadow(model);
        if (shadowed == null) {
            throw new ApiException(409, "model '" + model + "' has no shadow int8 model: probe.shadow.enabled is "
                    + "false in its config.json");
        }
        ShadowModel running = shadowed.current();
        if (running == null) {
            throw new ApiException(409, "model '" + model + "' has no shadow int8 model yet: it is built from the "
                    + "first closed window on the next shadowed request");
        }
        ctx.status(200).contentType("application/octet-stream")
                .header("Content-Disposition", "attachment; filename=\"" + model + "-int8-shadow-"
                        + shadowed.settings().calibration().label() + ".onnx\"")
                .header("X-Vigil-Window", Long.toString(running.window()))
                .result(running.bytes());
    }

    /**
     * The static int8 QDQ model of {@code source} calibrated on {@code snapshot}'s window, its metadata naming the
     * model, the calibration, the window and the tensors kept float.
     *
     * @throws IllegalArgumentException saying why the model cannot be exported (opset, nothing to quantize)
     */
    public static QdqExport.Result quantize(String model, ModelProto source, ProbeSnapshot snapshot,
                                            Calibration calibration, Set<String> keep,
                                            QdqExport.ActivationType activations) {
        Map<String, Double> clip = new HashMap<>();
        snapshot.quantByTensor().forEach((t, q) -> clip.put(t, calibration.clip(q)));
        WindowInfo w = snapshot.window();
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("vigil.model", model);
        meta.put("vigil.calibration", calibration.label());
        meta.put("vigil.window", Long.toString(w.index()));
        meta.put("vigil.window_tokens", Long.toString(w.tokens()));
        meta.put("vigil.window_requests", Long.toString(w.requests()));
        meta.put("vigil.keep_fp32", String.join(",", keep));
        meta.put("vigil.activations", activations.name().toLowerCase(Locale.ROOT));
        QdqExport.Result result;
        try {
            result = QdqExport.export(source, clip, keep, meta, activations);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("model '" + model + "' cannot be exported as static int8: "
                    + e.getMessage(), e);
        }
        if (result.quantizedSites().isEmpty()) {
            throw new IllegalArgumentException("model '" + model + "' has no float matmul_input site with a "
                    + "calibrated range to quantize");
        }
        return result;
    }

    /** Answers {@code /calibration?format=tensorrt} for the ready model {@code model}. */
    public void calibrationTable(Context ctx, String model, String format) {
        if (!format.equals("tensorrt")) {
            throw new ApiException(400, "unknown calibration format '" + format + "'; use json or tensorrt");
        }
        Calibration calibration = calibration(ctx);
        ProbeSnapshot snapshot = closedWindow(probes, model);
        ctx.status(200).contentType("text/plain; charset=utf-8")
                .header("X-Vigil-Window", Long.toString(snapshot.window().index()))
                .result(TensorRtCalibrationCache.write(snapshot.quantByTensor(), calibration));
    }

    static Calibration calibration(Context ctx) {
        try {
            return Calibration.parse(ctx.queryParam("calibration"), DEFAULT_CALIBRATION);
        } catch (IllegalArgumentException e) {
            throw new ApiException(400, e.getMessage());
        }
    }

    /** The {@code activations} parameter: {@code int8} (the default) or {@code uint8}; 400 for anything else. */
    private static QdqExport.ActivationType activations(Context ctx) {
        String a = ctx.queryParam("activations");
        if (a == null || a.equals("int8")) {
            return QdqExport.ActivationType.INT8;
        }
        if (a.equals("uint8")) {
            return QdqExport.ActivationType.UINT8;
        }
        throw new ApiException(400, "unknown activations '" + a + "'; use int8 or uint8");
    }

    /** The keep_fp32 names, each a matmul_input site of the model; 400 naming the first that is not. */
    private Set<String> keepFp32(Context ctx, String model) {
        Set<String> keep = new LinkedHashSet<>();
        for (String param : ctx.queryParams("keep_fp32")) {
            for (String t : param.split(",")) {
                if (!t.isBlank()) {
                    keep.add(t.strip());
                }
            }
        }
        if (keep.isEmpty()) {
            return keep;
        }
        Set<String> sites = new LinkedHashSet<>();
        for (ProbeSite s : probes.discoveredSites(model)) {
            if (s.kind() == SiteKind.MATMUL_INPUT) {
                sites.add(s.tensor());
            }
        }
        for (String t : keep) {
            if (!sites.contains(t)) {
                throw new ApiException(400, "keep_fp32 names unknown tensor '" + t + "': not a matmul_input site of "
                        + "model '" + model + "' (GET /v2/models/" + model + "/probes lists them)");
            }
        }
        return keep;
    }

    /** The model's probe snapshot once a window has closed; 409 before, or when the model is not probed. */
    static ProbeSnapshot closedWindow(ProbeLayer probes, String model) {
        ModelSnapshot m = probes.snapshot(model);
        if (m == null || m.snapshot().quantByTensor().isEmpty()) {
            throw new ApiException(409, "model '" + model + "' has no quantization ranges to calibrate with: its "
                    + "probes are disabled or select no site with ranges");
        }
        ProbeSnapshot s = m.snapshot();
        if (!s.window().closed()) {
            throw new ApiException(409, "model '" + model + "' has no closed calibration window yet: "
                    + s.openWindowTokens() + " of " + m.settings().windowTokens() + " tokens in the open window");
        }
        return s;
    }
}
