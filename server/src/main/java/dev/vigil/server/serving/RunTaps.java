package dev.vigil.server.serving;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;

import java.util.Map;
import java.util.Set;

/**
 * The internal outputs that one run computes for a {@link RunObserver}: some allocated by ONNX Runtime, some written
 * by it into tensors the observer supplies (pinned, reused across requests). The caller closes it when the request
 * ends, whatever happened; what the observer kept past the request (e.g. handed to a worker) it releases itself.
 */
public interface RunTaps extends AutoCloseable {
    /** No internal outputs. */
    RunTaps NONE = Set::of;

    /** Internal outputs that ONNX Runtime allocates. */
    Set<String> outputs();

    /** Internal outputs that ONNX Runtime writes into the given tensors; disjoint from {@link #outputs()}. None here. */
    default Map<String, OnnxTensor> pinned() {
        return Map.of();
    }

    /**
     * The same outputs with none pinned, after a run with pinned outputs failed (e.g. a pinned tensor's shape was not
     * the one the run produced); the pinned tensors are released. The run is then tried once more with these. This
     * one when nothing is pinned.
     */
    default RunTaps unpinned(OrtException failure) {
        return this;
    }

    /** The request is over: releases the pinned tensors unless the observer kept them. Idempotent. Nothing here. */
    @Override
    default void close() {
    }
}
