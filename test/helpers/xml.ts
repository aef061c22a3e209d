/**
 * A strict XML 1.0 reader for tests (saxes: well-formedness and the characters XML 1.0 allows are
 * enforced; any error throws). Gives a small element tree: name, attributes, children, text.
 */
import { SaxesParser } from 'saxes';

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** The element's own text (character data and CDATA), whitespace kept. */
  text: string;
}

export function parseXml(xml: string): XmlElement {
  const parser = new SaxesParser({ xmlns: false });
  const root: XmlElement = { name: '#document', attributes: {}, children: [], text: '' };
  const stack: XmlElement[] = [root];
  let failure: Error | undefined;
  parser.on('error', (err) => {
    failure ??= err;
  });
  parser.on('opentag', (tag) => {
    const el: XmlElement = { name: tag.name, attributes: { ...(tag.attributes as Record<string, string>) }, children: [], text: '' };
    stack.at(-1)!.children.push(el);
    stack.push(el);
  });
  parser.on('closetag', () => void stack.pop());
  parser.on('text', (t) => {
    if (stack.length > 1) stack.at(-1)!.text += t;
  });
  parser.on('cdata', (t) => void (stack.at(-1)!.text += t));
  parser.write(xml).close();
  if (failure) throw failure;
  return root;
}
