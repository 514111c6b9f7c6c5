package dev.vigil.server;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates ONNX Runtime sessions on the chosen device. CUDA is tried once: when its execution provider does not
 * load, the reason is logged and every session is built on CPU (an explicit {@code --device cpu} never tries it).
 */
public final class SessionFactory {
    private static final Logger LOG = LoggerFactory.getLogger(SessionFactory.class);

    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final int intraOpThreads;
    private final Device requested;
    private volatile Boolean cudaWorks;

    /**
     * @param device         the requested device
     * @param intraOpThreads ORT intra-op threads per session; 0 lets ORT choose
     */
    public SessionFactory(Device device, int intraOpThreads) {
        this.requested = device;
        this.intraOpThreads = intraOpThreads;
        if (!device.cuda()) {
            cudaWorks = false;
            LOG.info("Device: CPU (--device cpu)");
        }
    }

    /** The shared ORT environment. */
    public OrtEnvironment environment() {
        return env;
    }

    /** The device sessions actually run on once the first session was made ("cpu" or "cuda:N"). */
    public String effectiveDevice() {
        return Boolean.TRUE.equals(cudaWorks) ? "cuda:" + requested.cudaId() : "cpu";
    }

    /** A session for the given serialized ONNX model. */
    public OrtSession create(byte[] model) throws OrtException {
        try (OrtSession.SessionOptions options = options()) {
            return env.createSession(model, options);
        }
    }

    private synchronized OrtSession.SessionOptions options() throws OrtException {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        if (intraOpThreads > 0) {
            options.setIntraOpNumThreads(intraOpThreads);
        }
        // Spinning ORT worker threads would take the CPU from the HTTP threads between runs.
        options.addConfigEntry("session.intra_op.allow_spinning", "0");
        if (cudaWorks == null || cudaWorks) {
            try {
                options.addCUDA(requested.cudaId());
                if (cudaWorks == null) {
                    LOG.info("Device: CUDA device {} (CUDA execution provider loaded)", requested.cudaId());
                }
                cudaWorks = true;
            } catch (OrtException | RuntimeException | UnsatisfiedLinkError e) {
                cudaWorks = false;
                LOG.warn("CUDA execution provider unavailable ({}); using CPU", e.getMessage());
            }
        }
        return options;
    }
}
