package dev.vigil.tests.deploy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** The runnable jar started as a separate process, as a container starts it; its log is kept. */
final class VigilProcess implements AutoCloseable {
    private static final Path JAR = Path.of("..", "server", "target", "vigil.jar");
    private static final Pattern LISTENING = Pattern.compile("Vigil listening on http://127\\.0\\.0\\.1:(\\d+)");

    private final Process process;
    private final StringBuffer log = new StringBuffer();
    private volatile int port = -1;

    private VigilProcess(Process process) {
        this.process = process;
        Thread reader = new Thread(this::readLog, "vigil-process-log");
        reader.setDaemon(true);
        reader.start();
    }

    /** Starts {@code java -jar vigil.jar args...} and waits (at most 90 s) until it listens. */
    static VigilProcess start(List<String> args) throws IOException, InterruptedException {
        assertTrue(Files.isRegularFile(JAR), JAR + " is built by the server module's package phase");
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-jar");
        cmd.add(JAR.toString());
        cmd.addAll(args);
        ProcessBuilder builder = new ProcessBuilder(cmd).redirectErrorStream(true);
        builder.environment().put("DJL_OFFLINE", "true");
        builder.environment().put("OPT_OUT_TRACKING", "true");
        VigilProcess vigil = new VigilProcess(builder.start());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (vigil.port < 0) {
            if (!vigil.process.isAlive() || System.nanoTime() > deadline) {
                vigil.close();
                fail("no 'Vigil listening' line; log:\n" + vigil.log());
            }
            Thread.sleep(50);
        }
        return vigil;
    }

    int port() {
        return port;
    }

    /** Everything the process wrote so far (stdout and stderr). */
    String log() {
        return log.toString();
    }

    private void readLog() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                StandardCharsets.UTF_8))) {
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                log.append(line).append('\n');
                Matcher m = LISTENING.matcher(line);
                if (m.find()) {
                    port = Integer.parseInt(m.group(1));
                }
            }
        } catch (IOException e) {
            log.append("(log read failed: ").append(e.getMessage()).append(")\n");
        }
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }
}
