package dev.vigil.server;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import sun.misc.Signal;

import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/** The {@code vigil} command (its flags: {@link ServerFlags}): serves a model repository until it is stopped. */
@Command(name = "vigil", mixinStandardHelpOptions = true, version = "vigil 0.1.0",
        description = "Serves the ONNX models of a model repository over the KServe v2 REST protocol.",
        modelTransformer = ServerFlags.class)
public final class Main implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    public static void main(String[] args) {
        // Before any DJL class loads: DJL must never reach the network (telemetry, native downloads).
        System.setProperty("ai.djl.offline", "true");
        System.setProperty("OPT_OUT_TRACKING", "true");
        System.exit(new CommandLine(new Main()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        ServerOptions options;
        try {
            options = ServerFlags.options(spec);
        } catch (IllegalArgumentException e) {
            System.err.println("vigil: " + e.getMessage());
            return 2;
        }
        VigilServer server = new VigilServer(options);
        CountDownLatch stopped = new CountDownLatch(1);
        Runnable stop = () -> {
            server.close();
            stopped.countDown();
        };
        // SIGTERM and SIGINT stop the server before the JVM shuts down: its shutdown hooks run all at once, and ONNX
        // Runtime's own hook releases the native environment, which crashes a model run still in progress
        for (String name : new String[]{"TERM", "INT"}) {
            Signal.handle(new Signal(name), signal -> stop.run());
        }
        Runtime.getRuntime().addShutdownHook(new Thread(stop, "vigil-shutdown"));
        try {
            server.start();
        } catch (StartupException e) {
            System.err.println("vigil: " + e.getMessage());
            return 1;
        }
        stopped.await();
        if (!server.modelRunsEnded()) {
            // runs outlived --shutdown-timeout-ms: the JVM's shutdown hooks would free ONNX Runtime under them
            System.err.flush();
            System.out.flush();
            Runtime.getRuntime().halt(0);
        }
        return 0;
    }
}
