package dev.vigil.server.shadow;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.vigil.probes.GraphTaps;
import dev.vigil.probes.QdqExport;
import dev.vigil.probes.stats.ProbeSnapshot;
import dev.vigil.server.serving.SessionFactory;
import dev.vigil.server.quant.QuantizedExport;

import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * A built shadow model: the static int8 QDQ model exported from one closed window (exactly the bytes that
 * {@code /quantized?source=shadow} hands out) and its ONNX Runtime session, which also outputs each quantized site's
 * {@code DequantizeLinear} output (added graph outputs only, so the computation is the exported model's).
 */
public final class ShadowModel implements AutoCloseable {
    /** ORT intra-op threads of a shadow session: the shadow takes one core, never the served requests' cores. */
    static final int THREADS = 1;

    private final byte[] bytes;
    private final long window;
    private final OrtSession session;
    private final Map<String, String> dequantized;
    private final long builtAtNanos;

    private ShadowModel(byte[] bytes, long window, OrtSession session, Map<String, String> dequantized,
                        long builtAtNanos) {
        this.bytes = bytes;
        this.window = window;
        this.session = session;
        this.dequantized = Map.copyOf(dequantized);
        this.builtAtNanos = builtAtNanos;
    }

    /**
     * Exports {@code source} as static int8 from {@code snapshot}'s closed window and opens it.
     *
     * @throws IllegalArgumentException when the model cannot be exported
     * @throws OrtException             when ONNX Runtime cannot load the exported model
     */
    static ShadowModel build(String name, ModelProto source, ProbeSnapshot snapshot, ShadowSettings settings,
                             SessionFactory sessions) throws OrtException {
        QdqExport.Result result = QuantizedExport.quantize(name, source, snapshot, settings.calibration(),
                new LinkedHashSet<>(settings.keepFp32()), QdqExport.ActivationType.INT8);
        Map<String, String> dq = new LinkedHashMap<>();
        for (String site : result.quantizedSites()) {
            dq.put(site, QdqExport.dequantized(site));
        }
        byte[] bytes = result.model().toByteArray();
        byte[] tapped = GraphTaps.withOutputs(result.model(), dq.values()).toByteArray();
        OrtSession session = sessions.create(tapped, THREADS);
        return new ShadowModel(bytes, snapshot.window().index(), session, dq, System.nanoTime());
    }

    /** The exported QDQ model, as handed out (do not modify). */
    public byte[] bytes() {
        return bytes;
    }

    /** The index of the window the model was calibrated on. */
    public long window() {
        return window;
    }

    OrtSession session() {
        return session;
    }

    /** Per quantized site tensor, the name of its {@code DequantizeLinear} output. */
    Map<String, String> dequantized() {
        return dequantized;
    }

    /** The site tensors the model quantized. */
    Set<String> quantizedSites() {
        return dequantized.keySet();
    }

    long builtAtNanos() {
        return builtAtNanos;
    }

    @Override
    public void close() throws OrtException {
        session.close();
    }
}
