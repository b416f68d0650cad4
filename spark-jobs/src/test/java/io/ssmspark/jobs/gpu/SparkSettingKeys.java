package io.ssmspark.jobs.gpu;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.regex.Pattern;
import org.apache.spark.internal.config.ConfigEntry$;
import org.apache.spark.launcher.SparkLauncher;
import org.apache.spark.resource.ResourceUtils$;

/**
 * Decides whether a key is a real Spark 3.5 setting, from Spark's own registries where they are on
 * the classpath, and from an explicit list of documented names for the YARN and Kubernetes modules,
 * which are not.
 */
final class SparkSettingKeys {

    /**
     * Settings of modules not on this classpath (spark-yarn, spark-kubernetes), exactly as the
     * Spark 3.5 documentation names them (running-on-yarn.html, running-on-kubernetes.html). The
     * Kubernetes names were also checked against the strings in spark-kubernetes_2.12-3.5.6's
     * org.apache.spark.deploy.k8s.Config$ (3.5.7 of that module is not on Maven Central).
     */
    static final Set<String> DOCUMENTED_CLUSTER_MANAGER_KEYS = Set.of(
            "spark.yarn.queue",
            "spark.yarn.maxAppAttempts",
            "spark.kubernetes.namespace",
            "spark.kubernetes.container.image",
            "spark.kubernetes.container.image.pullPolicy",
            "spark.kubernetes.authenticate.driver.serviceAccountName",
            "spark.kubernetes.file.upload.path");

    /** Prefixes Spark documents as open families: spark.executorEnv.[EnvironmentVariableName]. */
    private static final Pattern EXECUTOR_ENV = Pattern.compile("spark\\.executorEnv\\.[A-Za-z_][A-Za-z0-9_]*");

    /** Custom resources (configuration.md, "Custom Resource Scheduling"): {component}.resource.{name}.{field}. */
    private static final Pattern RESOURCE;

    static {
        ResourceUtils$ resources = ResourceUtils$.MODULE$;
        String fields = String.join("|", resources.AMOUNT(), resources.DISCOVERY_SCRIPT(), resources.VENDOR());
        // spark.task.resource.* takes only an amount; driver, executor and worker take all three.
        RESOURCE = Pattern.compile("spark\\.(driver|executor|worker)\\.resource\\.[a-z0-9]+\\.(" + fields + ")"
                + "|spark\\.task\\.resource\\.[a-z0-9]+\\." + resources.AMOUNT());
    }

    private static final Set<String> LAUNCHER_KEYS = launcherKeys();

    static {
        loadSparkCoreConfigObjects();
    }

    private SparkSettingKeys() {}

    /** Null when the key is a real setting; otherwise the reason it is not. */
    static String whyUnknown(String key) {
        if (ConfigEntry$.MODULE$.findEntry(key) != null
                || LAUNCHER_KEYS.contains(key)
                || DOCUMENTED_CLUSTER_MANAGER_KEYS.contains(key)
                || EXECUTOR_ENV.matcher(key).matches()
                || RESOURCE.matcher(key).matches()) {
            return null;
        }
        return "'" + key + "' is neither a registered Spark ConfigEntry, a SparkLauncher key, a custom-resource"
                + " setting, spark.executorEnv.*, nor a documented YARN/Kubernetes setting";
    }

    /** The "spark.*" constants of SparkLauncher (spark.master, spark.driver.memory, ...). */
    private static Set<String> launcherKeys() {
        Set<String> keys = new HashSet<>();
        for (Field field : SparkLauncher.class.getFields()) {
            if (Modifier.isStatic(field.getModifiers()) && field.getType() == String.class) {
                try {
                    String value = (String) field.get(null);
                    if (value.startsWith("spark.")) {
                        keys.add(value);
                    }
                } catch (IllegalAccessException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        return keys;
    }

    /**
     * ConfigEntry registers an entry when the Scala object declaring it initialises; load every
     * top-level object of org.apache.spark.internal.config (package$, Kryo$, UI$, Worker$, ...).
     */
    private static void loadSparkCoreConfigObjects() {
        try {
            Path jar = Path.of(ConfigEntry$.class
                    .getProtectionDomain()
                    .getCodeSource()
                    .getLocation()
                    .toURI());
            Pattern topLevelObject = Pattern.compile("org/apache/spark/internal/config/[A-Za-z]+\\$\\.class");
            int loaded = 0;
            try (JarFile file = new JarFile(jar.toFile())) {
                for (Enumeration<JarEntry> entries = file.entries(); entries.hasMoreElements(); ) {
                    String name = entries.nextElement().getName();
                    if (topLevelObject.matcher(name).matches()) {
                        String className = name.substring(0, name.length() - ".class".length())
                                .replace('/', '.');
                        Class.forName(className, true, SparkSettingKeys.class.getClassLoader());
                        loaded++;
                    }
                }
            }
            if (loaded
                    < List.of("package$", "Kryo$", "UI$", "Worker$", "Network$").size()) {
                throw new IllegalStateException("found only " + loaded + " Spark config objects in " + jar);
            }
        } catch (IOException | URISyntaxException | ClassNotFoundException e) {
            throw new IllegalStateException("cannot load Spark's config objects", e);
        }
    }
}
