/**
 * Certificates of the local topology, made with @peculiar/x509 on Node's WebCrypto (ECDSA P-256):
 * a CA per install and the MaaS gateway's serving certificate signed by it, so clients verify with
 * `--cacert "$CA_FILE"` instead of turning verification off; and for each provider simulator a CA of
 * its own (the stand-in for the public CA that signed api.openai.com or api.anthropic.com) and a
 * serving certificate for its public hostname plus loopback, so the gateway's TLS origination
 * verifies a provider as it would a real one. A CA's private key is dropped once its leaf is signed:
 * nothing else can ever be issued under it.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import * as x509 from '@peculiar/x509';

const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const LOOPBACK_IPS = ['127.0.0.1', '::1'];

const serial = () => Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString('hex');

/** PEM with a final newline (what the files on disk and the TLS options hold). */
const pem = (der: ArrayBuffer, label: string): string => `${x509.PemConverter.encode(der, label)}\n`;

export interface Certs {
  caPem: string;
  certPem: string;
  keyPem: string;
}

interface Issue {
  /** The CA's distinguished name. */
  caName: string;
  /** The serving certificate's subject. */
  subject: string;
  hostnames: readonly string[];
  ips: readonly string[];
  days: number;
}

/** A fresh CA and one serving certificate (server auth, the given DNS names and IPs) signed by it. */
async function issueServerCert(issue: Issue): Promise<Certs> {
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(notBefore.getTime() + issue.days * 86_400_000);
  const caKeys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: issue.caName,
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const leafKeys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: issue.subject,
    issuer: ca.subject,
    notBefore,
    notAfter,
    signingKey: caKeys.privateKey,
    publicKey: leafKeys.publicKey,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...issue.hostnames.map((value) => ({ type: 'dns' as const, value })),
        ...issue.ips.map((value) => ({ type: 'ip' as const, value })),
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  return {
    caPem: `${ca.toString('pem')}\n`,
    certPem: `${leaf.toString('pem')}\n`,
    keyPem: pem(await webcrypto.subtle.exportKey('pkcs8', leafKeys.privateKey), 'PRIVATE KEY'),
  };
}

// ---------------------------------------------------------------------------------------------------
// The MaaS gateway

/** The install's CA and the MaaS gateway's serving certificate (90 days). */
export function generateCerts(hostnames: string[] = ['localhost'], ips: string[] = LOOPBACK_IPS): Promise<Certs> {
  return issueServerCert({
    caName: 'CN=maas-egress-demo local CA',
    subject: 'CN=maas gateway (maas-egress-demo)',
    hostnames,
    ips,
    days: 90,
  });
}

export async function writeCerts(files: { caCert: string; serverCert: string; serverKey: string }, hostnames?: string[]): Promise<void> {
  const certs = await generateCerts(hostnames);
  writeFileSync(files.caCert, certs.caPem, { mode: 0o644 });
  writeFileSync(files.serverCert, certs.certPem, { mode: 0o644 });
  writeFileSync(files.serverKey, certs.keyPem, { mode: 0o600 });
}

// ---------------------------------------------------------------------------------------------------
// The provider simulators

export interface ProviderPki extends Certs {
  /** The provider's CA certificate (`caPem`) is what a client trusts (a user passes it like a private CA). */
  hostnames: string[];
}

/** A CA named after the provider and a leaf for `hostnames` (the first is the subject) and `ips`. */
export async function createProviderPki(provider: string, hostnames: string[], ips: string[] = LOOPBACK_IPS, days = 30): Promise<ProviderPki> {
  if (hostnames.length === 0) throw new Error('createProviderPki: at least one hostname');
  const certs = await issueServerCert({
    caName: `CN=${provider} simulated public CA, O=maas-egress-demo`,
    subject: `CN=${hostnames[0]}`,
    hostnames,
    ips,
    days,
  });
  return { ...certs, hostnames };
}
