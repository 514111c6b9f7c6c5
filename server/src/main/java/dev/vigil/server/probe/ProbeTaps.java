package dev.vigil.server.probe;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import dev.vigil.server.serving.RunTaps;

import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * The taps of one probed run: written by ONNX Runtime into a pooled {@link TapBufferSet} when the model's tap shapes
 * are known, else allocated by ORT (and copied out after the run). The set goes back to the pool when the request
 * ends, unless it was handed to the probe worker, which gives it back after observing it.
 */
final class ProbeTaps implements RunTaps {
    private final ProbedModel model;
    private final int batch;
    private final int tokens;
    private TapBufferSet set;
    private Set<String> shadowOutputs = Set.of();
    private boolean shadowed;
    private OrtException pinFailure;
    /** The set the failed run used (given back; only its generation is read). */
    private TapBufferSet failedSet;

    /**
     * @param set the buffers the run writes into; null to let ORT allocate the taps
     */
    ProbeTaps(ProbedModel model, int batch, int tokens, TapBufferSet set) {
        this.model = model;
        this.batch = batch;
        this.tokens = tokens;
        this.set = set;
    }

    ProbedModel model() {
        return model;
    }

    int batch() {
        return batch;
    }

    int tokens() {
        return tokens;
    }

    /** The buffers the run wrote the taps into; null when ORT allocated them. */
    TapBufferSet buffers() {
        return set;
    }

    /** The taps that ORT allocates in this run: those not written into the set. */
    Set<String> tapOutputs() {
        return set == null ? model.taps() : set.unbuffered(model.taps());
    }

    /**
     * Marks the run as shadowed: it also computes {@code outputs} (the float outputs the shadow model is compared
     * with), whether or not the request asked for them.
     */
    void shadow(Set<String> outputs) {
        shadowOutputs = Set.copyOf(outputs);
        shadowed = true;
    }

    /** Whether the run is shadowed. */
    boolean shadowed() {
        return shadowed;
    }

    @Override
    public Set<String> outputs() {
        if (shadowOutputs.isEmpty()) {
            return tapOutputs();
        }
        Set<String> all = new LinkedHashSet<>(tapOutputs());
        all.addAll(shadowOutputs);
        return all;
    }

    @Override
    public Map<String, OnnxTensor> pinned() {
        return set == null ? Map.of() : set.tensors();
    }

    /**
     * Gives the buffers back; the pool is told its shapes were wrong only if the retry with ORT-allocated taps then
     * succeeds ({@link #reportPinFailure}), since a request that fails either way says nothing about the pinned shapes.
     */
    @Override
    public RunTaps unpinned(OrtException failure) {
        if (set != null) {
            model.buffers().release(set);
            failedSet = set;
            set = null;
            pinFailure = failure;
        }
        return this;
    }

    /**
     * After a successful run: when it was the retry of a run with pinned taps that failed, tells the pool its shapes
     * were wrong.
     *
     * @param shapes the taps ORT allocated in the retry, with their shapes
     */
    void reportPinFailure(Map<String, long[]> shapes) {
        if (pinFailure != null) {
            model.buffers().mismatch(failedSet, pinFailure, shapes);
        }
    }

    /**
     * Hands the buffers over to whoever observes the request: the returned action gives them back to the pool and
     * {@link #close()} no longer does. Does nothing when ORT allocated the taps.
     */
    Runnable handOver() {
        TapBufferSet held = set;
        set = null;
        return held == null ? () -> { } : () -> model.buffers().release(held);
    }

    @Override
    public void close() {
        if (set != null) {
            model.buffers().release(set);
            set = null;
        }
    }
}
