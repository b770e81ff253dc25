package searchkit.testcluster;

import java.io.OutputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The test cluster's TLS material, made fresh at every start: a CA of its own, and one
 * certificate it issues for the nodes (all of them listen on 127.0.0.1), valid for localhost and
 * 127.0.0.1 so that host names are checked.
 *
 * <p>Written under DIR: {@code ca.pem} (the CA certificate, for the client), {@code
 * keystore.p12} (the node key and its chain, for Jetty) and {@code truststore.p12} (the CA, for
 * the nodes' requests to one another). The store password is random and never printed.
 */
final class Certificates {
  private static final String SIGNATURE = "SHA256withECDSA";
  private static final Duration VALIDITY = Duration.ofDays(2);

  final Path caPem;
  final Path keyStore;
  final Path trustStore;
  final String password;

  private Certificates(Path caPem, Path keyStore, Path trustStore, String password) {
    this.caPem = caPem;
    this.keyStore = keyStore;
    this.trustStore = trustStore;
    this.password = password;
  }

  static Certificates create(Path dir) throws Exception {
    Files.createDirectories(dir);
    SecureRandom random = new SecureRandom();
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
    generator.initialize(256, random);
    KeyPair caKeys = generator.generateKeyPair();
    KeyPair nodeKeys = generator.generateKeyPair();
    Instant now = Instant.now();
    Date from = Date.from(now.minus(Duration.ofHours(1)));
    Date until = Date.from(now.plus(VALIDITY));
    JcaX509ExtensionUtils ids = new JcaX509ExtensionUtils();

    X500Name caName = new X500Name("CN=searchkit test cluster CA");
    X509v3CertificateBuilder ca =
        new JcaX509v3CertificateBuilder(
            caName, serial(random), from, until, caName, caKeys.getPublic());
    ca.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
    ca.addExtension(
        Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
    ca.addExtension(
        Extension.subjectKeyIdentifier, false, ids.createSubjectKeyIdentifier(caKeys.getPublic()));
    ca.addExtension(
        Extension.authorityKeyIdentifier,
        false,
        ids.createAuthorityKeyIdentifier(caKeys.getPublic()));
    ContentSigner caSigner = new JcaContentSignerBuilder(SIGNATURE).build(caKeys.getPrivate());
    X509Certificate caCert = new JcaX509CertificateConverter().getCertificate(ca.build(caSigner));

    X509v3CertificateBuilder node =
        new JcaX509v3CertificateBuilder(
            caCert, serial(random), from, until, new X500Name("CN=localhost"),
            nodeKeys.getPublic());
    node.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
    node.addExtension(
        Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
    node.addExtension(
        Extension.extendedKeyUsage,
        false,
        new ExtendedKeyUsage(
            new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
    node.addExtension(
        Extension.subjectAlternativeName,
        false,
        new GeneralNames(
            new GeneralName[] {
              new GeneralName(GeneralName.dNSName, "localhost"),
              new GeneralName(GeneralName.iPAddress, "127.0.0.1")
            }));
    node.addExtension(
        Extension.subjectKeyIdentifier, false, ids.createSubjectKeyIdentifier(nodeKeys.getPublic()));
    node.addExtension(
        Extension.authorityKeyIdentifier, false, ids.createAuthorityKeyIdentifier(caCert));
    X509Certificate nodeCert =
        new JcaX509CertificateConverter().getCertificate(node.build(caSigner));
    nodeCert.verify(caKeys.getPublic());

    String password = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes(random, 18));
    KeyStore keys = emptyStore();
    keys.setKeyEntry(
        "node", nodeKeys.getPrivate(), password.toCharArray(), new Certificate[] {nodeCert, caCert});
    KeyStore trust = emptyStore();
    trust.setCertificateEntry("ca", caCert);
    Certificates made =
        new Certificates(
            dir.resolve("ca.pem"), dir.resolve("keystore.p12"), dir.resolve("truststore.p12"),
            password);
    store(keys, made.keyStore, password);
    store(trust, made.trustStore, password);
    Files.writeString(made.caPem, pem(caCert), StandardCharsets.US_ASCII);
    return made;
  }

  private static BigInteger serial(SecureRandom random) {
    return new BigInteger(1, bytes(random, 16));
  }

  private static byte[] bytes(SecureRandom random, int n) {
    byte[] out = new byte[n];
    random.nextBytes(out);
    return out;
  }

  private static KeyStore emptyStore() throws Exception {
    KeyStore store = KeyStore.getInstance("PKCS12");
    store.load(null, null);
    return store;
  }

  private static void store(KeyStore store, Path path, String password) throws Exception {
    try (OutputStream out = Files.newOutputStream(path)) {
      store.store(out, password.toCharArray());
    }
  }

  static String pem(X509Certificate cert) throws Exception {
    String body =
        Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
            .encodeToString(cert.getEncoded());
    return "-----BEGIN CERTIFICATE-----\n" + body + "\n-----END CERTIFICATE-----\n";
  }
}
