/**
 * Running requests on models: {@link dev.vigil.server.serving.ModelRepository} loads the models of a repository into
 * {@link dev.vigil.server.serving.ServedModel}s (an ONNX Runtime {@link dev.vigil.server.serving.ModelSession} each),
 * {@link dev.vigil.server.serving.InferenceService} checks a request against its model and runs it,
 * {@link dev.vigil.server.serving.AdmissionControl} bounds the work in flight and
 * {@link dev.vigil.server.serving.ServingMetrics} counts the outcomes.
 */
package dev.vigil.server.serving;
