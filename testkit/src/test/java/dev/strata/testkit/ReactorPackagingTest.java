package dev.strata.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;

/**
 * Checks of the build's packaging that no compiler makes, read from the reactor's own files (poms,
 * sources, README): a library module cannot be left out of {@code strata-bom}, every jar names a JPMS
 * module of its own, no package is split across two modules (automatic modules would then fail to
 * resolve), and the README's "Using it" snippet imports the BOM at the current version.
 *
 * <p>A module is a library unless its pom sets the property {@code strata.application} to {@code true}
 * (the runnable cli, jmh and kafka-broker). Surefire runs this test with testkit's directory as the
 * working directory, so the reactor root is its parent.
 */
final class ReactorPackagingTest {

    private static final String GROUP_ID = "dev.strata";
    private static final String BOM_MODULE = "bom";

    private static Path root;
    private static Element rootPom;
    /** Module directory name to its pom, for every module of the reactor except the BOM. */
    private static final Map<String, Element> MODULES = new TreeMap<>();

    @BeforeAll
    static void readReactor() throws Exception {
        root = Path.of("").toAbsolutePath().getParent();
        rootPom = parse(root.resolve("pom.xml"));
        assertThat(child(rootPom, "artifactId")).as("reactor root %s", root).isEqualTo("strata-parent");
        for (Element module : children(child(rootPom, "modules", true), "module")) {
            String name = module.getTextContent().trim();
            if (!name.equals(BOM_MODULE)) {
                MODULES.put(name, parse(root.resolve(name).resolve("pom.xml")));
            }
        }
        assertThat(MODULES).containsKeys("api", "core", "testkit");
    }

    @Test
    void bomIsInTheReactorWithoutParentAtTheProjectVersion() throws Exception {
        assertThat(children(child(rootPom, "modules", true), "module"))
                .extracting(e -> e.getTextContent().trim())
                .contains(BOM_MODULE);
        Element bom = parse(root.resolve(BOM_MODULE).resolve("pom.xml"));
        assertThat(child(bom, "parent", false)).as("strata-bom must not inherit strata-parent").isNull();
        assertThat(child(bom, "groupId")).isEqualTo(GROUP_ID);
        assertThat(child(bom, "artifactId")).isEqualTo("strata-bom");
        assertThat(child(bom, "packaging")).isEqualTo("pom");
        assertThat(child(bom, "version")).isEqualTo(child(rootPom, "version"));
        for (Element dependency : bomDependencies(bom)) {
            assertThat(child(dependency, "groupId")).isEqualTo(GROUP_ID);
            assertThat(child(dependency, "version")).isEqualTo("${project.version}");
        }
    }

    @Test
    void bomListsEveryLibraryModuleAndItsTestJar() throws Exception {
        Set<String> listed = new TreeSet<>();
        for (Element dependency : bomDependencies(parse(root.resolve(BOM_MODULE).resolve("pom.xml")))) {
            String type = child(dependency, "type", false) == null ? "jar" : child(dependency, "type");
            listed.add(child(dependency, "artifactId") + ":" + type);
        }
        Set<String> libraries = new TreeSet<>();
        for (Map.Entry<String, Element> module : MODULES.entrySet()) {
            Element pom = module.getValue();
            if (isApplication(pom)) {
                continue;
            }
            String artifactId = child(pom, "artifactId");
            libraries.add(artifactId + ":jar");
            if (Files.readString(root.resolve(module.getKey()).resolve("pom.xml")).contains("<goal>test-jar</goal>")) {
                libraries.add(artifactId + ":test-jar");
            }
        }
        assertThat(libraries).as("library modules of the reactor").contains("strata-api:jar", "strata-core:jar");
        assertThat(listed)
                .as("bom/pom.xml must list every library module (or the module must set strata.application)")
                .containsAll(libraries);
    }

    @Test
    void everyJarModuleNamesItsOwnAutomaticModuleAfterItsRootPackage() throws IOException {
        Map<String, String> moduleNames = new HashMap<>();
        for (Map.Entry<String, Element> module : MODULES.entrySet()) {
            String name = property(module.getValue(), "automatic.module.name");
            assertThat(name).as("automatic.module.name of %s/pom.xml", module.getKey()).isNotNull();
            assertThat(moduleNames.put(name, module.getKey()))
                    .as("automatic module name %s of %s is also used by", name, module.getKey())
                    .isNull();
            for (String pkg : mainPackages(module.getKey())) {
                assertThat(pkg.equals(name) || pkg.startsWith(name + "."))
                        .as("package %s of %s lies under its module name %s", pkg, module.getKey(), name)
                        .isTrue();
            }
        }
    }

    @Test
    void noPackageIsSplitAcrossModules() throws IOException {
        Map<String, String> owner = new HashMap<>();
        List<String> split = new ArrayList<>();
        for (String module : MODULES.keySet()) {
            for (String pkg : mainPackages(module)) {
                String other = owner.putIfAbsent(pkg, module);
                if (other != null) {
                    split.add(pkg + " in " + other + " and " + module);
                }
            }
        }
        assertThat(owner).containsKey("dev.strata.api");
        assertThat(split).as("split packages").isEmpty();
    }

    @Test
    void readmeImportsTheBomAtTheProjectVersion() throws Exception {
        String readme = Files.readString(root.resolve("README.md"), StandardCharsets.UTF_8);
        Matcher section = Pattern.compile("(?s)\n## Using it\n(.*?)(\n## |$)").matcher(readme);
        assertThat(section.find()).as("README.md has a \"## Using it\" section").isTrue();
        Matcher xml = Pattern.compile("(?s)```xml\n(.*?)```").matcher(section.group(1));
        assertThat(xml.find()).as("an xml snippet in \"Using it\"").isTrue();
        Element snippet = parseString("<snippet>" + xml.group(1) + "</snippet>");

        Element bomImport = null;
        for (Element dependency : children(child(child(snippet, "dependencyManagement", true), "dependencies", true), "dependency")) {
            if ("strata-bom".equals(child(dependency, "artifactId"))) {
                bomImport = dependency;
            }
        }
        assertThat(bomImport).as("the snippet imports strata-bom").isNotNull();
        assertThat(child(bomImport, "groupId")).isEqualTo(GROUP_ID);
        assertThat(child(bomImport, "version")).isEqualTo(child(rootPom, "version"));
        assertThat(child(bomImport, "type")).isEqualTo("pom");
        assertThat(child(bomImport, "scope")).isEqualTo("import");

        Set<String> bomArtifacts = new TreeSet<>();
        for (Element dependency : bomDependencies(parse(root.resolve(BOM_MODULE).resolve("pom.xml")))) {
            bomArtifacts.add(child(dependency, "artifactId"));
        }
        List<Element> used = children(child(snippet, "dependencies", true), "dependency");
        assertThat(used).as("the snippet then depends on a Strata artifact").isNotEmpty();
        for (Element dependency : used) {
            assertThat(child(dependency, "version", false)).as("a version comes from the BOM").isNull();
            assertThat(bomArtifacts).contains(child(dependency, "artifactId"));
        }
    }

    private static boolean isApplication(Element pom) {
        return "true".equals(property(pom, "strata.application"));
    }

    /** Packages of the module's main sources (src/main/java and the release-specific src/main/javaNN). */
    private static Set<String> mainPackages(String module) throws IOException {
        Set<String> packages = new TreeSet<>();
        Path main = root.resolve(module).resolve("src").resolve("main");
        if (!Files.isDirectory(main)) {
            return packages;
        }
        try (Stream<Path> sourceRoots = Files.list(main)) {
            for (Path sourceRoot : sourceRoots.filter(p -> p.getFileName().toString().matches("java\\d*")).toList()) {
                try (Stream<Path> files = Files.walk(sourceRoot)) {
                    files.filter(f -> f.toString().endsWith(".java"))
                            .filter(f -> !f.getFileName().toString().equals("module-info.java"))
                            .map(f -> sourceRoot.relativize(f.getParent()).toString().replace(f.getFileSystem().getSeparator(), "."))
                            .forEach(packages::add);
                }
            }
        }
        return packages;
    }

    private static List<Element> bomDependencies(Element bom) {
        return children(child(child(bom, "dependencyManagement", true), "dependencies", true), "dependency");
    }

    private static String property(Element pom, String name) {
        Element properties = child(pom, "properties", false);
        Element property = properties == null ? null : child(properties, name, false);
        return property == null ? null : property.getTextContent().trim();
    }

    private static String child(Element parent, String name) {
        Element element = child(parent, name, true);
        return element.getTextContent().trim();
    }

    private static Element child(Element parent, String name, boolean required) {
        List<Element> found = children(parent, name);
        assertThat(found.size()).as("<%s> elements in <%s>", name, parent.getTagName()).isLessThanOrEqualTo(1);
        if (required) {
            assertThat(found).as("<%s> in <%s>", name, parent.getTagName()).isNotEmpty();
        }
        return found.isEmpty() ? null : found.get(0);
    }

    private static List<Element> children(Element parent, String name) {
        List<Element> found = new ArrayList<>();
        for (Node node = parent.getFirstChild(); node != null; node = node.getNextSibling()) {
            if (node instanceof Element element && element.getTagName().equals(name)) {
                found.add(element);
            }
        }
        return found;
    }

    private static Element parse(Path file) throws Exception {
        return factory().newDocumentBuilder().parse(file.toFile()).getDocumentElement();
    }

    private static Element parseString(String xml) throws Exception {
        Document document = factory().newDocumentBuilder()
                .parse(new ByteArrayInputStream(xml.getBytes(StandardCharsets.UTF_8)));
        return document.getDocumentElement();
    }

    private static DocumentBuilderFactory factory() {
        // Without namespace awareness getTagName() is the plain name the poms use.
        return DocumentBuilderFactory.newInstance();
    }
}
