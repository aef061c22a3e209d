/**
 * A CA generated per install, and the MaaS gateway's serving certificate signed by it, so clients
 * verify with `--cacert "$CA_FILE"` instead of turning verification off. ECDSA P-256 through
 * @peculiar/x509 on Node's WebCrypto; the CA's private key is discarded once the leaf is signed.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import * as x509 from '@peculiar/x509';

const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

function toPem(der: ArrayBuffer, label: string): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN ${label}-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END ${label}-----\n`;
}

export interface Certs {
  caPem: string;
  certPem: string;
  keyPem: string;
}

export async function generateCerts(hostnames: string[] = ['localhost'], ips: string[] = ['127.0.0.1', '::1']): Promise<Certs> {
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const now = new Date(Date.now() - 60_000);
  const caKeys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString('hex'),
    name: 'CN=maas-egress-demo local CA',
    notBefore: now,
    notAfter: new Date(now.getTime() + 90 * 24 * 3600 * 1000),
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
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString('hex'),
    subject: 'CN=maas gateway (maas-egress-demo)',
    issuer: ca.subject,
    notBefore: now,
    notAfter: new Date(now.getTime() + 90 * 24 * 3600 * 1000),
    signingKey: caKeys.privateKey,
    publicKey: leafKeys.publicKey,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...hostnames.map((value) => ({ type: 'dns' as const, value })),
        ...ips.map((value) => ({ type: 'ip' as const, value })),
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', leafKeys.privateKey);
  return { caPem: ca.toString('pem') + '\n', certPem: leaf.toString('pem') + '\n', keyPem: toPem(pkcs8, 'PRIVATE KEY') };
}

export async function writeCerts(files: { caCert: string; serverCert: string; serverKey: string }, hostnames?: string[]): Promise<void> {
  const certs = await generateCerts(hostnames);
  writeFileSync(files.caCert, certs.caPem, { mode: 0o644 });
  writeFileSync(files.serverCert, certs.certPem, { mode: 0o644 });
  writeFileSync(files.serverKey, certs.keyPem, { mode: 0o600 });
}
