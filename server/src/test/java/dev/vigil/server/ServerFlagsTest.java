package dev.vigil.server;

import dev.vigil.server.serving.Device;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The {@code vigil} command line: each flag sets its own {@link ServerOptions} value, the rest keep the defaults. */
class ServerFlagsTest {
    private static ServerOptions parse(String... args) {
        CommandLine command = new CommandLine(new Main());
        command.parseArgs(args);
        return ServerFlags.options(command.getCommandSpec());
    }

    @Test
    void noFlagsGiveTheBuilderDefaults() {
        assertEquals(ServerOptions.builder().build(), parse());
    }

    @Test
    void everyFlagSetsItsOwnValue() {
        // Every value differs from its default and from the others of its type, so a flag wired to the wrong
        // setter shows up as a mismatch.
        ServerOptions parsed = parse("--models", "/srv/repo", "--port", "9001", "--host", "0.0.0.0",
                "--device", "cuda:1", "--max-body-bytes", "1001", "--max-batch-size", "3",
                "--max-sequence-length", "77", "--max-inflight", "5", "--max-queue", "6", "--intra-op-threads", "7",
                "--probe-queue", "9", "--probe-workers", "10", "--probe-wait-ms", "11", "--probe-warmup-ms", "21",
                "--probe-buffer-mb", "12",
                "--max-header-bytes", "2048", "--idle-timeout-ms", "13", "--body-timeout-ms", "14",
                "--body-budget-mb", "15", "--quant-report-requests", "17", "--quant-report-request-bytes", "18",
                "--quant-report-interval-s", "19", "--max-attention-map-tokens", "20");
        ServerOptions expected = ServerOptions.builder().modelsDir(Path.of("/srv/repo")).port(9001).host("0.0.0.0")
                .device(Device.parse("cuda:1")).maxBodyBytes(1001).maxBatchSize(3).maxSequenceLength(77)
                .maxInflight(5).maxQueue(6).intraOpThreads(7).probeQueue(9).probeWorkers(10).probeWaitMs(11)
                .probeWarmUpMs(21).probeBufferMb(12).maxHeaderBytes(2048).idleTimeoutMs(13).bodyTimeoutMs(14)
                .bodyBudgetMb(15).reportRequests(17).reportRequestBytes(18).reportIntervalS(19)
                .maxAttentionMapTokens(20).build();
        assertEquals(expected, parsed);
    }

    @Test
    void aParseStartsFromTheDefaultsAgain() {
        CommandLine command = new CommandLine(new Main());
        command.parseArgs("--port", "9001");
        command.parseArgs();
        assertEquals(8080, ServerFlags.options(command.getCommandSpec()).port());
    }

    @Test
    void outOfRangeValuesAreRejectedWithTheirReason() {
        assertEquals("port must be 0..65535",
                assertThrows(IllegalArgumentException.class, () -> parse("--port", "70000")).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> parse("--device", "tpu")).getMessage()
                .contains("'tpu'"));
    }

    @Test
    void theHelpShowsEachFlagWithItsValueNameAndDefault() {
        StringWriter help = new StringWriter();
        CommandLine command = new CommandLine(new Main()).setOut(new PrintWriter(help));
        assertEquals(0, command.execute("--help"));
        String text = help.toString().replaceAll("\\s+", " ");
        assertTrue(text.contains("--port=<port> port; 0 picks a free one (default: 8080)"), text);
        assertTrue(text.contains("--quant-report-requests=<reportRequests> probed runs each model keeps recorded "
                + "for GET /quantized/report's sweeps; 0 records none (default: 16)"), text);
        assertTrue(text.contains("--models=<models> model repository directory (default: models)"), text);
        assertTrue(text.contains("--device=<device> cpu, cuda or cuda:<id> (default: CUDA when its execution "
                + "provider loads, else CPU)"), text);
        assertEquals(27 + 2, command.getCommandSpec().options().size(), "27 server flags, --help and --version");
    }
}
