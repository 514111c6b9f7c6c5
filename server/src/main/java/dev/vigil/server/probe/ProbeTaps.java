package dev.vigil.server.probe;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import dev.vigil.server.serving.RunTaps;

import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * The taps of one probed run: written by ONNX Runtime into a pooled {@link TapBufferSet} when the model's tap shapes
 * are known, else allocated by ORT (and copied out after the run, within the shared tap memory). The set and the
 * copies' share of that memory go back when the request ends, unless they were handed to the probe worker, which
 * gives them back after observing it. A run without a set holds its model's permit for such runs until the request
 * ends ({@link TapBufferPool#beginUnpinnedRun}).
 */
final class ProbeTaps implements RunTaps {
    private final ProbedModel model;
    private final int batch;
    private final int tokens;
    private TapBufferSet set;
    /** Whether this run holds the model's permit for a run without a set. */
    private boolean unpinnedPermit;
    /** The bytes of tap memory reserved for the copies of the taps ORT allocated, until handed over or closed. */
    private long copyBytes;
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

    /**
     * The taps of a run without a buffer set, holding the model's permit for one such run at a time until
     * {@link #close()}; null when another run held it for {@code waitNanos}.
     */
    static ProbeTaps withoutSet(ProbedModel model, int batch, int tokens, long waitNanos) {
        if (!model.buffers().beginUnpinnedRun(waitNanos)) {
            return null;
        }
        ProbeTaps taps = new ProbeTaps(model, batch, tokens, null);
        taps.unpinnedPermit = true;
        return taps;
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
     * Reserves tap memory for copying out the taps ORT allocated in this run; false (nothing reserved) when they do
     * not fit, and the request is then not probed.
     */
    boolean reserveCopies(long bytes) {
        if (!model.buffers().reserveCopies(bytes)) {
            return false;
        }
        copyBytes += bytes;
        return true;
    }

    /**
     * Hands the buffers and the copies' memory over to whoever observes the request: the returned action gives them
     * back and {@link #close()} no longer does.
     */
    Runnable handOver() {
        TapBufferSet held = set;
        long bytes = copyBytes;
        set = null;
        copyBytes = 0;
        TapBufferPool pool = model.buffers();
        return () -> {
            if (held != null) {
                pool.release(held);
            }
            pool.releaseCopies(bytes);
        };
    }

    @Override
    public void close() {
        TapBufferPool pool = model.buffers();
        if (set != null) {
            pool.release(set);
            set = null;
        }
        pool.releaseCopies(copyBytes);
        copyBytes = 0;
        if (unpinnedPermit) {
            unpinnedPermit = false;
            pool.endUnpinnedRun();
        }
    }
}
