export interface MimeNode {
  hs: number; // header start offset
  he: number; // header end = first body byte
  be: number; // body end (exclusive)
  t: string; // content type, lower case
  s: string; // subtype, lower case
  enc: string; // content-transfer-encoding, lower case ("7bit" default)
  cs?: string; // charset parameter, lower case
  c?: MimeNode[]; // multipart children
  m?: MimeNode; // message/rfc822: root of the encapsulated message
}

export interface SearchFields {
  from: string;
  to: string;
  cc: string;
  bcc: string;
  subject: string;
  messageId: string;
  date: number | null;
  /** the Date header's day as written (days since 1970-01-01 in its own zone): SENTON/SENTSINCE/SENTBEFORE */
  dateDay: number | null;
}

export interface MessageIndex {
  envelope: string;
  bodyStructure: string;
  body: string;
  root: MimeNode;
  fields: SearchFields;
  text: string;
}
