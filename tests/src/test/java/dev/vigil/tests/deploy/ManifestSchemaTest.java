package dev.vigil.tests.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every manifest in {@code deploy/} against the OpenAPI v3 schema of its CustomResourceDefinition (KServe's, the
 * Prometheus Operator's), with unknown fields rejected where the Kubernetes API server would prune them.
 */
class ManifestSchemaTest {
    static final Path DEPLOY = Path.of("..", "deploy");
    private static final Path CRDS = Path.of("src", "test", "resources", "crds");

    private static CrdCatalog strict;
    private static CrdCatalog plain;

    @BeforeAll
    static void loadCrds() throws IOException {
        strict = CrdCatalog.load(CRDS, true);
        plain = CrdCatalog.load(CRDS, false);
    }

    /** Every YAML document under deploy/, by "file#index". */
    static Map<String, JsonNode> manifests() throws IOException {
        Map<String, JsonNode> out = new LinkedHashMap<>();
        try (Stream<Path> files = Files.walk(DEPLOY)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml"))
                    .sorted().toList()) {
                List<JsonNode> docs = CrdCatalog.documents(f);
                for (int i = 0; i < docs.size(); i++) {
                    out.put(DEPLOY.relativize(f) + "#" + i, docs.get(i));
                }
            }
        }
        return out;
    }

    /** The one manifest of this kind whose metadata.name is {@code name}, as a fresh copy to edit. */
    static ObjectNode manifest(String kind, String name) throws IOException {
        List<JsonNode> found = new ArrayList<>();
        for (JsonNode m : manifests().values()) {
            if (kind.equals(m.path("kind").asText()) && name.equals(m.path("metadata").path("name").asText())) {
                found.add(m);
            }
        }
        assertEquals(1, found.size(), kind + " " + name + " in deploy/");
        return found.get(0).deepCopy();
    }

    @Test
    void everyManifestInDeployIsValidAgainstItsCrd() throws IOException {
        Map<String, JsonNode> all = manifests();
        Map<String, List<String>> failures = new TreeMap<>();
        Map<String, Integer> kinds = new TreeMap<>();
        all.forEach((where, m) -> {
            List<String> v = strict.violations(m);
            if (!v.isEmpty()) {
                failures.put(where, v);
            }
            kinds.merge(m.path("kind").asText(), 1, Integer::sum);
        });
        assertTrue(failures.isEmpty(), "invalid manifests: " + failures);
        // The set shipped: the CPU and GPU runtimes, an InferenceService on each, the PodMonitor.
        assertEquals(Map.of("ClusterServingRuntime", 2, "InferenceService", 2, "PodMonitor", 1), kinds, all.keySet()
                .toString());
    }

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource(delimiter = '|', value = {
        // kind | name | path to the object holding the field | field to misspell | misspelt as
        "ClusterServingRuntime | vigil | /spec/containers/0 | readinessProbe | readinesProbe",
        "ClusterServingRuntime | vigil | /spec/containers/0/securityContext | runAsNonRoot | runAsNonroot",
        "ClusterServingRuntime | vigil | /spec/supportedModelFormats/0 | autoSelect | autoselect",
        "ClusterServingRuntime | vigil | /spec | protocolVersions | protocolVersion",
        "ClusterServingRuntime | vigil | /metadata | labels | label",
        "ClusterServingRuntime | vigil-cuda | /spec/containers/0/startupProbe/httpGet | path | paths",
        "InferenceService | vigil-minilm | /spec/predictor/model | storageUri | storageURI",
        "InferenceService | vigil-minilm | /spec/predictor | model | models",
        "InferenceService | vigil-minilm-gpu | /spec/predictor/tolerations/0 | operator | op",
        "PodMonitor | vigil | /spec/podMetricsEndpoints/0 | path | metricsPath",
        "PodMonitor | vigil | /spec/namespaceSelector | any | all",
    })
    void aMisspeltFieldFails(String kind, String name, String at, String field, String misspelt) throws IOException {
        ObjectNode m = manifest(kind, name);
        ObjectNode holder = (ObjectNode) m.at(at);
        assertTrue(holder.has(field), field + " at " + at);
        holder.set(misspelt, holder.remove(field));
        List<String> v = strict.violations(m);
        assertFalse(v.isEmpty(), "misspelt " + at + "/" + misspelt + " passed");
        assertTrue(v.stream().anyMatch(s -> s.contains(misspelt)), "the error names " + misspelt + ": " + v);
    }

    @Test
    void aPlainValidatorAcceptsWhatTheApiServerWouldDrop() throws IOException {
        ObjectNode m = manifest("ClusterServingRuntime", "vigil");
        ObjectNode container = (ObjectNode) m.at("/spec/containers/0");
        container.set("readinesProbe", container.remove("readinessProbe"));
        assertEquals(List.of(), plain.violations(m), "without pruning emulation the typo passes");
        assertFalse(strict.violations(m).isEmpty());
    }

    @Test
    void wrongTypesEnumsAndMissingRequiredFieldsFail() throws IOException {
        ObjectNode runtime = manifest("ClusterServingRuntime", "vigil");
        ((ObjectNode) runtime.at("/spec/supportedModelFormats/0")).put("priority", "1");
        assertTrue(strict.violations(runtime).stream().anyMatch(s -> s.contains("priority")),
                strict.violations(runtime).toString());

        ObjectNode noName = manifest("ClusterServingRuntime", "vigil");
        ((ObjectNode) noName.at("/spec/containers/0/ports/0")).remove("containerPort");
        assertTrue(strict.violations(noName).stream().anyMatch(s -> s.contains("containerPort")));

        ObjectNode monitor = manifest("PodMonitor", "vigil");
        ((ArrayNode) monitor.at("/spec/scrapeProtocols")).add("PrometheusProtobuf");
        assertTrue(strict.violations(monitor).stream().anyMatch(s -> s.contains("scrapeProtocols")));

        ObjectNode badName = manifest("InferenceService", "vigil-minilm");
        ((ObjectNode) badName.get("metadata")).put("name", "Vigil_MiniLM");
        assertTrue(strict.violations(badName).stream().anyMatch(s -> s.contains("name")));

        ObjectNode unknownKind = manifest("PodMonitor", "vigil");
        unknownKind.put("kind", "ServiceMonitor");
        assertTrue(strict.violations(unknownKind).get(0).contains("no CustomResourceDefinition serves"));
    }

    @Test
    void intOrStringAndPreservedFieldsAreAccepted() throws IOException {
        ObjectNode runtime = manifest("ClusterServingRuntime", "vigil");
        ObjectNode httpGet = (ObjectNode) runtime.at("/spec/containers/0/livenessProbe/httpGet");
        httpGet.put("port", "http1");
        assertEquals(List.of(), strict.violations(runtime), "a port by name (int-or-string)");
        httpGet.put("port", true);
        assertFalse(strict.violations(runtime).isEmpty(), "a boolean port");

        ObjectNode cpu = manifest("ClusterServingRuntime", "vigil");
        ((ObjectNode) cpu.at("/spec/containers/0/resources/limits")).put("cpu", 4);
        assertEquals(List.of(), strict.violations(cpu), "an integer quantity (int-or-string)");

        // status preserves unknown fields in the InferenceService CRD: anything goes there.
        ObjectNode isvc = manifest("InferenceService", "vigil-minilm");
        isvc.putObject("status").put("anythingAtAll", 1);
        assertEquals(List.of(), strict.violations(isvc));
    }
}
