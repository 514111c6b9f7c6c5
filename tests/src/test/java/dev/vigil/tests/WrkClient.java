package dev.vigil.tests;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Sends a benchmark's requests with {@code wrk} (a C load generator, {@code apt-get install wrk}) instead of a client
 * in the benchmark's JVM: what a request costs the server without a JVM client beside it. One wrk thread per
 * connection, each stopping after its share of the slice's requests, so that no request is left in flight when a
 * slice ends. Every reply must be a 200 whose body equals, byte for byte, a reply that {@link ReplyCheck} checked
 * value by value against bare ONNX Runtime (the server's outputs for the same request are deterministic); the
 * latencies come back from wrk's own histogram (microseconds), its CPU time from /proc.
 */
final class WrkClient implements ServingBench.Slice, AutoCloseable {
    private static final Pattern SUMMARY = Pattern.compile("VIGIL-WRK requests=(\\d+) bad=(\\d+) errors=(\\d+)");
    private static final Pattern LATENCY = Pattern.compile("VIGIL-WRK-LAT (\\d+) (\\d+)");
    private static final String SCRIPT = """
            local threads = {}
            local share, rest, index = 0, 0, 0
            function setup(thread)
              index = index + 1
              thread:set("limit", share + (index <= rest and 1 or 0))
              table.insert(threads, thread)
            end
            function init(args)
              local f = assert(io.open(args[1], "rb")); local body = f:read("*a"); f:close()
              f = assert(io.open(args[2], "rb")); expected = f:read("*a"); f:close()
              req = wrk.format("POST", args[3], {["Inference-Header-Content-Length"] = args[4],
                ["Content-Type"] = "application/octet-stream"}, body)
              served, bad = 0, 0
              io.stderr:write("VIGIL-WRK-START\\n")
            end
            function request() return req end
            function response(status, headers, body)
              served = served + 1
              if status ~= 200 or body ~= expected then bad = bad + 1 end
              if served == limit then
                io.stderr:write("VIGIL-WRK-STOP\\n")
                wrk.thread:stop()
              end
            end
            function done(summary, latency, requests)
              local bad = 0
              for _, t in ipairs(threads) do bad = bad + t:get("bad") end
              local e = summary.errors
              io.write(string.format("VIGIL-WRK requests=%d bad=%d errors=%d\\n", summary.requests, bad,
                e.connect + e.read + e.write + e.status + e.timeout))
              for i = 1, #latency do
                local v, n = latency(i)
                io.write(string.format("VIGIL-WRK-LAT %d %d\\n", v, n))
              end
            end
            """;

    private final String url;
    private final Path script;
    private final Path body;
    private final Path expected;
    private final String headerLength;
    private final String path;
    private long cpuNanos;

    /**
     * @param expected     a reply body already checked against bare ONNX Runtime; every reply must equal it
     * @param headerLength the request's {@code Inference-Header-Content-Length}
     */
    WrkClient(int port, String path, byte[] request, int headerLength, byte[] expected) throws IOException {
        this.url = "http://127.0.0.1:" + port;
        this.path = path;
        this.headerLength = Integer.toString(headerLength);
        this.script = Files.createTempFile("vigil-wrk", ".lua");
        this.body = Files.createTempFile("vigil-wrk-request", ".bin");
        this.expected = Files.createTempFile("vigil-wrk-reply", ".bin");
        Files.write(body, request);
        Files.write(this.expected, expected);
    }

    /** Whether {@code wrk} is on the PATH. */
    static boolean available() {
        try {
            Process p = new ProcessBuilder("wrk", "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            p.waitFor(10, TimeUnit.SECONDS);
            return true;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** wrk's CPU time so far, over every slice it ran. */
    @Override
    public long outsideCpuNanos() {
        return cpuNanos;
    }

    /**
     * Runs wrk until each of its threads has sent its share; wrk itself runs for a fixed time, so it is interrupted
     * (SIGINT: it then prints its summary) once every thread has said that it stopped. The slice's time runs from
     * the first thread's start to the last one's stop, as this process reads them.
     */
    @Override
    public double run(ExecutorService pool, long[] latencies, int from, int to, int conc) throws Exception {
        int n = to - from;
        if (n < conc) {
            throw new IllegalArgumentException(n + " requests cannot keep " + conc + " connections busy");
        }
        Files.writeString(script, SCRIPT.replace("local share, rest, index = 0, 0, 0",
                "local share, rest, index = " + n / conc + ", " + n % conc + ", 0"));
        Process p = new ProcessBuilder("wrk", "-t" + conc, "-c" + conc, "-d3600s", "--timeout", "120s", "-s",
                script.toString(), url, "--", body.toString(), expected.toString(), path, headerLength)
                .redirectErrorStream(true).start();
        StringBuilder out = new StringBuilder();
        long started = 0;
        long stopped = 0;
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(p.getInputStream(),
                StandardCharsets.UTF_8))) {
            int stops = 0;
            for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                out.append(line).append('\n');
                if (line.equals("VIGIL-WRK-START") && started == 0) {
                    started = System.nanoTime();
                } else if (line.equals("VIGIL-WRK-STOP") && ++stops == conc) {
                    stopped = System.nanoTime();
                    cpuNanos += cpuTime(p.pid());
                    new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor();
                }
            }
        } finally {
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
        Matcher s = SUMMARY.matcher(out);
        if (p.exitValue() != 0 || stopped == 0 || !s.find()) {
            throw new IllegalStateException("wrk failed: " + out);
        }
        long requests = Long.parseLong(s.group(1));
        if (requests != n || !s.group(2).equals("0") || !s.group(3).equals("0")) {
            throw new IllegalStateException("wrk: " + requests + " replies of " + n + ", " + s.group(2)
                    + " not equal to the checked reply, " + s.group(3) + " errors: " + out);
        }
        int i = from;
        for (Matcher m = LATENCY.matcher(out); m.find(); ) {
            long micros = Long.parseLong(m.group(1));
            for (long k = Long.parseLong(m.group(2)); k > 0 && i < to; k--) {
                latencies[i++] = micros * 1000;
            }
        }
        if (i != to) {
            throw new IllegalStateException("wrk's histogram holds " + (i - from) + " latencies, expected " + n);
        }
        return (stopped - started) / 1e9;
    }

    /** A process's CPU time (user and system, all its threads) from /proc. */
    private static long cpuTime(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return (Long.parseLong(f[11]) + Long.parseLong(f[12])) * 10_000_000L; // USER_HZ is 100 on Linux
    }

    /** Deletes the temporary files. */
    @Override
    public void close() throws IOException {
        for (Path p : new Path[]{script, body, expected}) {
            Files.deleteIfExists(p);
        }
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "wrk %s%s", url, path);
    }
}
