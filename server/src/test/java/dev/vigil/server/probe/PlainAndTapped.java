package dev.vigil.server.probe;

import ai.onnxruntime.OrtException;
import dev.vigil.server.serving.InferenceService;
import dev.vigil.server.serving.ModelConfig;
import dev.vigil.server.serving.ModelPreparer;
import dev.vigil.server.serving.ModelSession;
import dev.vigil.server.serving.RunObserver;
import dev.vigil.server.serving.ServedModel;
import dev.vigil.server.serving.ServingMetrics;
import dev.vigil.server.serving.SessionFactory;

import java.util.Map;
import java.util.Set;

/**
 * A model served twice for comparison: unprobed ({@code plain}) and with the probe layer's taps ({@code tapped},
 * named {@code m}), each with its own inference service. Closing it closes both sessions.
 */
record PlainAndTapped(ModelSession plainSession, ModelSession tappedSession, ServedModel plain, ServedModel tapped,
                      InferenceService plainService, InferenceService tappedService) implements AutoCloseable {

    static PlainAndTapped open(SessionFactory factory, byte[] bytes, ModelPreparer.Prepared prepared,
                               ModelConfig config, ProbeLayer layer) throws OrtException {
        ModelSession plainSession = ModelSession.open(factory, bytes, Set.of());
        try {
            ModelSession tappedSession = ModelSession.open(factory, prepared.model(), prepared.internalOutputs());
            return new PlainAndTapped(plainSession, tappedSession,
                    new ServedModel("plain", ModelConfig.empty(), plainSession, 8, 512, null, Map.of()),
                    new ServedModel("m", config, tappedSession, 8, 512, null, Map.of()),
                    new InferenceService(factory.environment(), new ServingMetrics(), RunObserver.NONE),
                    new InferenceService(factory.environment(), new ServingMetrics(), layer));
        } catch (OrtException | RuntimeException e) {
            try {
                plainSession.close();
            } catch (OrtException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    @Override
    public void close() throws OrtException {
        try (plainSession) {
            tappedSession.close();
        }
    }
}
