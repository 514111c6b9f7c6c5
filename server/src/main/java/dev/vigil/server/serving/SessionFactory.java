package dev.vigil.server.serving;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
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

    /**
     * Whether sessions run on a CUDA device; when no session was made yet, tries the CUDA execution provider once
     * (as the first session would).
     */
    public synchronized boolean cuda() {
        if (cudaWorks == null) {
            try (OrtSession.SessionOptions ignored = options(intraOpThreads)) {
                // options() records whether the CUDA execution provider loaded
            } catch (OrtException e) {
                return false;
            }
        }
        return Boolean.TRUE.equals(cudaWorks);
    }

    /** A session for the given serialized ONNX model. */
    public OrtSession create(byte[] model) throws OrtException {
        return create(model, intraOpThreads);
    }

    /**
     * A session for the given serialized ONNX model with its own number of intra-op threads (0 lets ORT choose), e.g.
     * for work that must leave the CPU to the served requests.
     */
    public OrtSession create(byte[] model, int threads) throws OrtException {
        try (OrtSession.SessionOptions options = options(threads)) {
            return env.createSession(model, options);
        }
    }

    private synchronized OrtSession.SessionOptions options(int threads) throws OrtException {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        if (threads > 0) {
            options.setIntraOpNumThreads(threads);
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
                // Asked for by name, a CPU fallback is worth a warning; tried by default, it is the expected case.
                if (requested.explicit()) {
                    LOG.warn("CUDA execution provider unavailable for --device {}: {}; running on CPU", requested,
                            cudaFailure(e));
                } else {
                    LOG.info("CUDA execution provider unavailable: {}; running on CPU", cudaFailure(e));
                }
            }
        }
        return options;
    }

    /** Why CUDA did not load, with what to do about it. */
    private static String cudaFailure(Throwable e) {
        if (!OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA)) {
            return "this is the CPU build of ONNX Runtime (the GPU build is the Maven profile -Pcuda)";
        }
        return e.getMessage() + " (the GPU build needs CUDA 12 with cuDNN 9 and an NVIDIA driver; see docs/GPU.md)";
    }
}
