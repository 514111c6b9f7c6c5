package dev.vigil.tests.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * CustomResourceDefinitions by the {@code apiVersion} and {@code kind} of the objects they define, each served
 * version's schema compiled by networknt's JSON-schema validator after {@link StructuralSchema}'s conversion.
 */
final class CrdCatalog {
    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final JsonSchemaFactory FACTORY = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V4);

    private final Map<String, JsonNode> openApiSchemas = new HashMap<>();
    private final Map<String, JsonSchema> compiled = new HashMap<>();
    private final boolean pruning;

    private CrdCatalog(boolean pruning) {
        this.pruning = pruning;
    }

    /**
     * The CRDs of every {@code *.yaml} file in {@code dir}.
     *
     * @param pruning whether unknown fields fail as the API server's pruning would drop them
     */
    static CrdCatalog load(Path dir, boolean pruning) throws IOException {
        CrdCatalog catalog = new CrdCatalog(pruning);
        try (Stream<Path> files = Files.list(dir)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList()) {
                for (JsonNode crd : documents(file)) {
                    if (!"CustomResourceDefinition".equals(crd.path("kind").asText())) {
                        continue;
                    }
                    JsonNode spec = crd.get("spec");
                    String group = spec.get("group").asText();
                    String kind = spec.get("names").get("kind").asText();
                    for (JsonNode version : spec.get("versions")) {
                        if (version.path("served").asBoolean(false)) {
                            catalog.openApiSchemas.put(key(group + "/" + version.get("name").asText(), kind),
                                    version.get("schema").get("openAPIV3Schema"));
                        }
                    }
                }
            }
        }
        return catalog;
    }

    /** The non-empty YAML documents of a file ({@code ---}-separated). */
    static List<JsonNode> documents(Path file) throws IOException {
        List<JsonNode> docs = new ArrayList<>();
        try (var parser = YAML.getFactory().createParser(file.toFile())) {
            for (var it = YAML.readValues(parser, JsonNode.class); it.hasNext(); ) {
                JsonNode doc = it.next();
                if (doc != null && !doc.isNull() && !doc.isMissingNode()) {
                    docs.add(doc);
                }
            }
        }
        return docs;
    }

    /** The API versions and kinds this catalog knows, as {@code apiVersion kind}. */
    Set<String> kinds() {
        return new TreeSet<>(openApiSchemas.keySet());
    }

    /**
     * What is wrong with a manifest: an unknown {@code apiVersion}/{@code kind}, or every schema violation
     * (JSON path and message); empty when it is valid.
     */
    List<String> violations(JsonNode manifest) {
        String key = key(manifest.path("apiVersion").asText(), manifest.path("kind").asText());
        JsonNode openApi = openApiSchemas.get(key);
        if (openApi == null) {
            return List.of("no CustomResourceDefinition serves '" + key + "' (known: " + kinds() + ")");
        }
        JsonSchema schema = compiled.computeIfAbsent(key,
                k -> FACTORY.getSchema(StructuralSchema.of(openApi, pruning)));
        List<String> out = new ArrayList<>();
        for (ValidationMessage m : schema.validate(manifest)) {
            out.add(m.getMessage());
        }
        return out;
    }

    private static String key(String apiVersion, String kind) {
        return apiVersion + " " + kind;
    }
}
