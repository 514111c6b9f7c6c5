package dev.vigil.tests;

import dev.vigil.server.Http;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The runnable jar as other tools start it: {@code java -jar server/target/vigil.jar --models DIR --port N}. */
@Timeout(120)
class JarLaunchTest {
    private static final Path JAR = Path.of("..", "server", "target", "vigil.jar");
    private static final Pattern LISTENING = Pattern.compile("Vigil listening on http://127\\.0\\.0\\.1:(\\d+)");

    private static Process launch(String... args) throws Exception {
        assertTrue(Files.isRegularFile(JAR), JAR + " is built by the package phase (mvn package, before the tests module)");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String[] cmd = new String[args.length + 3];
        cmd[0] = java;
        cmd[1] = "-jar";
        cmd[2] = JAR.toString();
        System.arraycopy(args, 0, cmd, 3, args.length);
        return new ProcessBuilder(cmd).redirectErrorStream(true).start();
    }

    /** Reads the server's log up to its address line, keeping what it read in {@code seen}; the bound port. */
    private static int awaitListening(BufferedReader log, StringBuilder seen) throws IOException {
        for (String line = log.readLine(); line != null; line = log.readLine()) {
            seen.append(line).append('\n');
            Matcher m = LISTENING.matcher(line);
            if (m.find()) {
                return Integer.parseInt(m.group(1));
            }
        }
        throw new AssertionError("no 'Vigil listening' line in:\n" + seen);
    }

    @Test
    void startsOnAnEphemeralPortAndServes() throws Exception {
        Process p = launch("--models", MiniLmTextTest.MODELS.toString(), "--port", "0", "--device", "cpu");
        try (BufferedReader log = new BufferedReader(new InputStreamReader(p.getInputStream(),
                StandardCharsets.UTF_8))) {
            StringBuilder seen = new StringBuilder();
            int port = awaitListening(log, seen);
            // The start-up log is the device, the model table and the address: no library chatter, no warnings.
            // A loaded machine may add one notice per model that its probe warm-up had not settled in time: how fast
            // the statistics warm depends on the machine, not on the start-up log's shape.
            String startup = seen.toString().lines().filter(l -> !l.contains("probe statistics still speeding up"))
                    .collect(Collectors.joining("\n", "", "\n"));
            assertTrue(startup.contains("INFO dev.vigil.server.serving.SessionFactory - Device: CPU (--device cpu)"), startup);
            Matcher header = Pattern.compile("(\\d+) of \\1 model\\(s\\) ready on device cpu").matcher(startup);
            assertTrue(header.find(), startup);
            int models = Integer.parseInt(header.group(1));
            // MiniLM: 6 blocks, each with one attention Softmax, one GELU, two LayerNorms (plus the embeddings'
            // LayerNorm) and four MatMul inputs with weights (Q/K/V share one), plus the pooler's dense layer.
            assertTrue(Pattern.compile("  all-minilm-l6-v2 +READY +cpu +attention 6, mlp 6, residual 13, "
                    + "matmul_input 25; text input").matcher(startup).find(), startup);
            assertEquals(models + 3, startup.lines().filter(l -> l.contains(" INFO dev.vigil.server.VigilServer - "))
                    .count(), "table header, column names, one line per model, the address:\n" + startup);
            assertEquals(models + 4, startup.lines().count(), "the device line, the table, the address:\n" + startup);
            assertFalse(startup.contains("WARN") || startup.contains("CUDA") || startup.contains("Javalin"), startup);
            Http http = new Http(port);
            assertEquals(200, http.get("/v2/health/ready").statusCode());
            var r = http.postJson("/v2/models/all-minilm-l6-v2/infer", "{\"inputs\":[{\"name\":\"text\","
                    + "\"datatype\":\"BYTES\",\"shape\":[1],\"data\":[\"hello\"]}],\"outputs\":[{\"name\":\"882\"}]}");
            assertEquals(200, r.statusCode(), Http.text(r));
            assertEquals("[1,384]", Http.json(r).get("outputs").get(0).get("shape").toString());
        } finally {
            p.destroy();
            assertTrue(p.waitFor(20, TimeUnit.SECONDS), "the server stops on SIGTERM");
        }
    }

    /**
     * Once the server listens, sends four MiniLM requests of 8 sequences of 407 tokens at once (each runs for seconds
     * on two cores) and, a second later, SIGTERM; the requests, still to be answered.
     */
    private static List<CompletableFuture<HttpResponse<byte[]>>> sigtermDuringLongRequests(Process p,
            BufferedReader log, StringBuilder seen) throws Exception {
        Http http = new Http(awaitListening(log, seen));
        String text = "\"" + "the quick brown fox jumps over the lazy dog ".repeat(45) + "\"";
        String batch = "{\"inputs\":[{\"name\":\"text\",\"datatype\":\"BYTES\",\"shape\":[8],\"data\":["
                + String.join(",", Collections.nCopies(8, text)) + "]}],\"outputs\":[{\"name\":\"882\"}]}";
        List<CompletableFuture<HttpResponse<byte[]>>> running = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            running.add(CompletableFuture.supplyAsync(() -> http.postJson("/v2/models/all-minilm-l6-v2/infer", batch)));
        }
        Thread.sleep(1_000);
        // SIGTERM; Process.destroy() would also close the stream the log is read from
        p.toHandle().destroy();
        return running;
    }

    /** Reads the rest of the log once the process has ended, and asserts it ended with 0 and no JVM crash. */
    private static void assertExitedCleanly(Process p, BufferedReader log, StringBuilder seen) throws Exception {
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the server stops");
        for (String line = log.readLine(); line != null; line = log.readLine()) {
            seen.append(line).append('\n');
        }
        assertEquals(0, p.exitValue(), seen.toString());
        assertFalse(seen.toString().contains("A fatal error has been detected"), seen.toString());
    }

    /**
     * SIGTERM while MiniLM requests run: they still get their 200, the process exits 0. Before, the JVM's shutdown
     * hooks (ONNX Runtime's releases its native environment) ran under the runs: SIGSEGV, exit 134, every request in
     * flight lost its connection.
     */
    @Test
    void sigtermLetsTheRequestsInProgressFinishAndExitsZero() throws Exception {
        Process p = launch("--models", MiniLmTextTest.MODELS.toString(), "--port", "0", "--device", "cpu",
                "--probe-warmup-ms", "0");
        StringBuilder seen = new StringBuilder();
        try (BufferedReader log = new BufferedReader(new InputStreamReader(p.getInputStream(),
                StandardCharsets.UTF_8))) {
            List<CompletableFuture<HttpResponse<byte[]>>> running = sigtermDuringLongRequests(p, log, seen);
            for (CompletableFuture<HttpResponse<byte[]>> r : running) {
                HttpResponse<byte[]> response = r.get(60, TimeUnit.SECONDS);
                assertEquals(200, response.statusCode(), Http.text(response));
                assertEquals("[8,384]", Http.json(response).get("outputs").get(0).get("shape").toString());
            }
            assertExitedCleanly(p, log, seen);
            assertTrue(seen.toString().contains("Vigil stopped"), seen.toString());
        } finally {
            p.destroyForcibly();
        }
    }

    /**
     * Runs that outlive {@code --shutdown-timeout-ms} are cut off (their clients lose the connection), and the process
     * still exits 0 without running the JVM's shutdown hooks under them.
     */
    @Test
    void runsThatOutliveTheShutdownTimeoutDoNotCrashTheExit() throws Exception {
        Process p = launch("--models", MiniLmTextTest.MODELS.toString(), "--port", "0", "--device", "cpu",
                "--probe-warmup-ms", "0", "--shutdown-timeout-ms", "100");
        StringBuilder seen = new StringBuilder();
        try (BufferedReader log = new BufferedReader(new InputStreamReader(p.getInputStream(),
                StandardCharsets.UTF_8))) {
            List<CompletableFuture<HttpResponse<byte[]>>> running = sigtermDuringLongRequests(p, log, seen);
            assertExitedCleanly(p, log, seen);
            for (CompletableFuture<HttpResponse<byte[]>> r : running) {
                try {
                    r.get(60, TimeUnit.SECONDS);
                } catch (ExecutionException cutOff) {
                    // the connection closed without a response: expected past the timeout
                }
            }
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void helpListsTheFlagsAndABadFlagFailsClearly() throws Exception {
        Process help = launch("--help");
        String text = new String(help.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, help.waitFor());
        for (String flag : new String[]{"--models", "--port", "--device", "--max-body-bytes", "--max-batch-size",
                "--max-sequence-length", "--max-inflight", "--max-queue", "--intra-op-threads"}) {
            assertTrue(text.contains(flag), flag + " in:\n" + text);
        }
        Process bad = launch("--device", "gpu");
        String err = new String(bad.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(2, bad.waitFor());
        assertTrue(err.contains("device must be cpu, cuda or cuda:<id>, not 'gpu'"), err);
    }

    /** Everything the process printed, once it has exited with the expected code within 60 s. */
    private static String exitsWith(int code, Process p) throws Exception {
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "exits: " + out);
        assertEquals(code, p.exitValue(), out);
        return out;
    }

    @Test
    void aMissingModelDirectoryIsOneLineAndAnExitCode() throws Exception {
        Path missing = Files.createTempDirectory("vigil-launch").resolve("no-such-dir");
        String out = exitsWith(1, launch("--models", missing.toString(), "--port", "0"));
        assertEquals(1, out.strip().lines().count(), "one line, no stack trace:\n" + out);
        assertTrue(out.startsWith("vigil: model repository ") && out.contains("no-such-dir")
                && out.contains("is not a directory (--models)"), out);
    }

    @Test
    void aTakenPortIsOneLineBeforeAnyModelLoads() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            int port = taken.getLocalPort();
            String out = exitsWith(1, launch("--models", MiniLmTextTest.MODELS.toString(), "--port",
                    Integer.toString(port), "--device", "cpu"));
            assertEquals(1, out.strip().lines().count(), "one line, no model loaded, no stack trace:\n" + out);
            assertTrue(out.startsWith("vigil: cannot listen on 127.0.0.1:" + port + ": "), out);
        }
    }
}
