package searchkit.testcluster;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.solr.client.solrj.embedded.SSLConfig;
import org.apache.solr.embedded.JettySolrRunner;
import org.apache.solr.cloud.MiniSolrCloudCluster;
import org.apache.solr.security.Sha256AuthenticationProvider;

/**
 * A real SolrCloud for searchkit's tests: N Jetty Solr nodes and an embedded ZooKeeper in this
 * JVM, with basic authentication on (one user, role admin, every request must authenticate),
 * serving HTTPS only, with a certificate issued at start-up by a CA of its own (Certificates).
 *
 * <p>Arguments: NODES BASE_DIR. The user name and password come from the environment
 * (SEARCHKIT_SOLR_USER, SEARCHKIT_SOLR_PASSWORD), never from the command line.
 *
 * <p>Prints one line on stdout when the cluster is up: {@code READY {"nodes": [...], "zk":
 * "...", "ca": "BASE_DIR/tls/ca.pem"}}, node base URLs (https) in node order, and the CA
 * certificate a client must trust. Then reads commands from stdin, one a line, each
 * answered by one line: {@code stop I} stops node I, {@code start I} starts it again on its
 * port ({@code OK url} or {@code ERROR reason}). Shuts down when stdin closes or on SIGTERM.
 */
public final class TestCluster {
  private TestCluster() {}

  static String securityJson(String user, String password) {
    String hash = Sha256AuthenticationProvider.getSaltedHashedValue(password);
    return "{\"authentication\": {\"class\": \"solr.BasicAuthPlugin\", \"blockUnknown\": true,"
        + " \"forwardCredentials\": false, \"credentials\": {\""
        + user
        + "\": \""
        + hash
        + "\"}},"
        + " \"authorization\": {\"class\": \"solr.RuleBasedAuthorizationPlugin\","
        + " \"permissions\": [{\"name\": \"all\", \"role\": \"admin\"}],"
        + " \"user-role\": {\""
        + user
        + "\": \"admin\"}}}";
  }

  static String readyJson(List<String> urls, String zk, Path ca) {
    StringBuilder out = new StringBuilder("{\"nodes\": [");
    for (int i = 0; i < urls.size(); i++) {
      out.append(i == 0 ? "" : ", ").append('"').append(urls.get(i)).append('"');
    }
    out.append("], \"zk\": \"").append(zk).append("\", \"ca\": \"");
    return out.append(ca.toString().replace("\\", "\\\\")).append("\"}").toString();
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 2) {
      System.err.println("usage: TestCluster NODES BASE_DIR");
      System.exit(2);
    }
    int nodes = Integer.parseInt(args[0]);
    Path base = Path.of(args[1]);
    String user = System.getenv("SEARCHKIT_SOLR_USER");
    String password = System.getenv("SEARCHKIT_SOLR_PASSWORD");
    if (user == null || password == null) {
      System.err.println("SEARCHKIT_SOLR_USER and SEARCHKIT_SOLR_PASSWORD must be set");
      System.exit(2);
    }
    Files.createDirectories(base);
    Certificates tls = Certificates.create(base.resolve("tls"));
    // The nodes' requests to one another (distributed search, updates to replicas, recovery,
    // the Collections API) trust the CA the way a Solr installation does with
    // SOLR_SSL_TRUST_STORE: through the JVM's trust store properties, which Solr's HTTP clients
    // read; they check host names too (solr.ssl.checkPeerName defaults to true).
    System.setProperty("javax.net.ssl.trustStore", tls.trustStore.toString());
    System.setProperty("javax.net.ssl.trustStorePassword", tls.password);
    System.setProperty("javax.net.ssl.trustStoreType", "PKCS12");
    // JettySolrRunner builds its TLS connector from the SSLConfig only in this mode.
    System.setProperty("jetty.testMode", "true");
    // HTTP/1.1 only, nodes and clients alike. With HTTP/2 on, JettySolrRunner's TLS connector
    // negotiates ALPN with the names "h2" and "HTTP/1.1" (not "http/1.1" as Solr's own
    // jetty-https.xml does), so a client that offers only http/1.1 (Python's urllib3) is
    // refused with "no application protocol". The nodes' clients must then speak HTTP/1.1.
    System.setProperty("solr.http1", "true");
    SSLConfig serverTls =
        new SSLConfig(true, false, tls.keyStore.toString(), tls.password, null, null);
    MiniSolrCloudCluster cluster =
        new MiniSolrCloudCluster.Builder(nodes, base)
            .withJettyConfig(jetty -> jetty.withSSLConfig(serverTls).useOnlyHttp1(true))
            .withSecurityJson(securityJson(user, password))
            .withTraceIdGenerationDisabled()
            .build();

    AtomicBoolean down = new AtomicBoolean(false);
    Runnable shutdown =
        () -> {
          if (down.compareAndSet(false, true)) {
            try {
              cluster.shutdown();
            } catch (Exception e) {
              e.printStackTrace();
            }
          }
        };
    Runtime.getRuntime().addShutdownHook(new Thread(shutdown, "test-cluster-shutdown"));

    List<JettySolrRunner> jettys = new ArrayList<>(cluster.getJettySolrRunners());
    List<String> urls = new ArrayList<>();
    for (JettySolrRunner jetty : jettys) {
      urls.add(jetty.getBaseUrl().toString());
    }
    System.out.println(
        "READY " + readyJson(urls, cluster.getZkServer().getZkAddress(), tls.caPem));
    System.out.flush();

    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      String[] words = line.trim().split("\\s+");
      try {
        int index = words.length == 2 ? Integer.parseInt(words[1]) : -1;
        if (index < 0 || index >= jettys.size()) {
          System.out.println("ERROR expected 'stop I' or 'start I' with 0 <= I < " + jettys.size());
        } else if (words[0].equals("stop")) {
          JettySolrRunner jetty = jettys.get(index);
          cluster.stopJettySolrRunner(jetty);
          cluster.waitForJettyToStop(jetty);
          System.out.println("OK " + urls.get(index));
        } else if (words[0].equals("start")) {
          JettySolrRunner jetty = cluster.startJettySolrRunner(jettys.get(index), true);
          cluster.waitForNode(jetty, 60);
          jettys.set(index, jetty);
          System.out.println("OK " + jetty.getBaseUrl());
        } else {
          System.out.println("ERROR unknown command: " + words[0]);
        }
      } catch (Exception e) {
        System.out.println("ERROR " + e.toString().replace('\n', ' '));
      }
      System.out.flush();
    }
    shutdown.run();
    System.exit(0);
  }
}
