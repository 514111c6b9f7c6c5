package dev.vigil.tests.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.vigil.server.ServerOptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The images agree with the build and with the KServe runtimes that run them (no Docker daemon here, so the
 * images themselves are not built): the build stage copies every module's POM (the Maven reactor reads them
 * all) and the files the jar includes, the image's default arguments are the runtime's, and the JVM's
 * direct-memory cap holds what the arguments let the server allocate.
 */
class DockerfileTest {
    private static final Pattern MODULE = Pattern.compile("<module>([^<]+)</module>");
    private static final Pattern CMD = Pattern.compile("(?m)^CMD \\[(.*)]$");
    private static final Pattern INCLUDED = Pattern.compile("<file>\\$\\{project.basedir}/\\.\\./([^<]+)</file>");
    private static final Pattern DIRECT = Pattern.compile("-XX:MaxDirectMemorySize=(\\d+)m");

    @ParameterizedTest(name = "{0} runs as {1}")
    @CsvSource({"Dockerfile, vigil", "Dockerfile.cuda, vigil-cuda"})
    void theImageBuildsEveryModuleAndRunsAsItsRuntimeSays(String dockerfile, String runtime) throws IOException {
        String text = Files.readString(ManifestSchemaTest.DEPLOY.resolve(dockerfile));
        Matcher modules = MODULE.matcher(Files.readString(Path.of("..", "pom.xml")));
        int count = 0;
        while (modules.find()) {
            String m = modules.group(1);
            assertTrue(text.contains("COPY " + m + "/pom.xml " + m + "/"), dockerfile + " copies " + m + "/pom.xml");
            count++;
        }
        assertTrue(count >= 4, "modules in pom.xml: " + count);
        for (String src : List.of("probes/src", "server/src")) {
            assertTrue(text.contains("COPY " + src + " " + src), dockerfile + " copies " + src);
        }
        // the files the server POM puts into the jar (its shade plugin's included resources)
        Matcher included = INCLUDED.matcher(Files.readString(Path.of("..", "server", "pom.xml")));
        int files = 0;
        while (included.find()) {
            String file = included.group(1);
            assertTrue(text.matches("(?s).*\\nCOPY [^\\n]*\\b" + Pattern.quote(file) + "\\b[^\\n]* \\./\\n.*"),
                    dockerfile + " copies " + file + " to the build context root");
            files++;
        }
        assertEquals(2, files, "files the server jar includes: LICENSE and THIRD-PARTY-NOTICES.md");

        JsonNode container = ManifestSchemaTest.manifest("ClusterServingRuntime", runtime).at("/spec/containers/0");
        List<String> runtimeArgs = new ArrayList<>();
        container.get("args").forEach(a -> runtimeArgs.add(a.asText()));
        assertEquals(runtimeArgs, cmdAsRuntimeArgs(text), dockerfile + " CMD vs the " + runtime + " runtime's args");
        assertTrue(text.contains("EXPOSE " + container.at("/ports/0/containerPort").asInt()), dockerfile + " EXPOSE");
        assertTrue(text.contains("USER " + container.at("/securityContext/runAsUser").asInt()), dockerfile + " USER");

        // Direct memory: the probes' tap buffers plus the request memory budget (bodies and their decoded tensors)
        // must fit under the JVM's cap.
        Matcher direct = DIRECT.matcher(text);
        assertTrue(direct.find(), dockerfile + " caps direct memory");
        long capMb = Long.parseLong(direct.group(1));
        ServerOptions defaults = ServerOptions.builder().build();
        long probeMb = Long.parseLong(arg(runtimeArgs, "--probe-buffer-mb", defaults.probeBufferMb()));
        long bodiesMb = Long.parseLong(arg(runtimeArgs, "--body-budget-mb", defaults.bodyBudgetMb()));
        assertTrue(probeMb + bodiesMb <= capMb, probeMb + " + " + bodiesMb + " MiB > the " + capMb + " MiB cap");
    }

    /** The exec-form CMD array as {@code --flag=value} arguments, as the runtimes write them. */
    private static List<String> cmdAsRuntimeArgs(String dockerfile) {
        Matcher cmd = CMD.matcher(dockerfile);
        assertTrue(cmd.find(), "an exec-form CMD");
        List<String> words = new ArrayList<>();
        for (String w : cmd.group(1).split(",")) {
            words.add(w.trim().replaceAll("^\"|\"$", ""));
        }
        List<String> args = new ArrayList<>();
        for (int i = 0; i < words.size(); i += 2) {
            args.add(words.get(i) + "=" + words.get(i + 1));
        }
        return args;
    }

    private static String arg(List<String> args, String flag, long otherwise) {
        for (String a : args) {
            if (a.startsWith(flag + "=")) {
                return a.substring(flag.length() + 1);
            }
        }
        return Long.toString(otherwise);
    }
}
