/*
 * govwallet offline verification in the browser: the verifier page's fallback when the
 * verification service cannot be reached.
 *
 * It mirrors licenses/verification.py (verify_presentation) check by check, against the
 * signed lists the page cached while online:
 *
 *   format            RFC 9901 §4 shape, typ "dc+sd-jwt", alg ES256
 *   signature         the issuer-signed JWT verifies with the trust-list key named by kid
 *   issuer_trusted    iss is a trust-list agency, the key is one of its keys, list unexpired
 *   issuer_authorised the agency may issue vct
 *   validity_period   nbf / exp / iat against now (60 s clock skew)
 *   status            the Token Status List entry is VALID and the list has not expired
 *   disclosures       RFC 9901 §7.1 digest processing (SHA-256)
 *   key_binding       RFC 9901 §7.3: signature by cnf.jwk, iat freshness, sd_hash
 *
 * Standards: SD-JWT RFC 9901 (https://www.rfc-editor.org/rfc/rfc9901), Token Status List
 * (https://datatracker.ietf.org/doc/draft-ietf-oauth-status-list/), JWS RFC 7515, Base45
 * RFC 9285, the GW1 offline QR format docs/qr-format.md (zlib preset dictionary, RFC 1950).
 * Signatures: WebCrypto ECDSA P-256 / SHA-256 (JWS ES256 signatures are the raw r || s,
 * which is what WebCrypto takes). Inflate: pako (vendor/pako_inflate.min.js, from npm).
 *
 * The cache (localStorage, key STORE_KEY): {fetched_at (ms), issuer, jwks, trust_list,
 * status_lists: {uri: token}, gw1_dictionary (base64), gw1_max_frame_bytes,
 * key_binding_max_age (seconds; the server's GOVWALLET_WALLET_PRESENTATION_LIFETIME_SECONDS)}. Every token is
 * verified before it is stored, and again when it is used.
 *
 * API: window.GovwalletOffline = {refresh(kitUrl), cached(), verifyQr(text, now?),
 * verifyPresentation(text, cache, now?), decodeGw1(text, cache)}. verifyQr resolves to the
 * body POST /verifier/verify answers ({valid, checks, claims, license_id, license_type,
 * status, issuer, trust_list, status_list}) plus "offline": {fetched_at, age_seconds}.
 */
(function () {
  "use strict";

  var STORE_KEY = "govwallet.verifier.offline.v1";
  var CLOCK_SKEW = 60;
  var KEY_BINDING_MAX_AGE = 300;
  var SD_JWT_VC_TYP = "dc+sd-jwt";
  var KB_JWT_TYP = "kb+jwt";
  var TRUST_LIST_TYP = "trustlist+jwt";
  var STATUS_LIST_TYP = "statuslist+jwt";
  var CHECKS = [
    "format",
    "signature",
    "issuer_trusted",
    "issuer_authorised",
    "validity_period",
    "status",
    "disclosures",
    "key_binding",
  ];
  var ENVELOPE = ["iss", "iat", "nbf", "exp", "vct", "status", "cnf", "_sd_alg"];
  var NEVER_DISCLOSABLE = ["iss", "nbf", "exp", "iat", "cnf", "vct", "vct#integrity", "status"];
  var GW1_PREFIX = "GW1:";
  var BASE45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
  var MAX_VARINT_BYTES = 3;
  var REF = 0x01;
  var REF_SD_HASH = 0xf0;
  var REF_BYTES = 0xf1;
  var REF_LITERAL = 0xff;
  var MAX_DIGEST_REFERENCES = 0xf0;

  /* A failed check: message for the clerk, code as the server's problem codes. */
  function Failure(code, message) {
    this.code = code;
    this.message = message;
  }

  function fail(code, message) {
    throw new Failure(code, message);
  }

  // -- bytes ---------------------------------------------------------------------------------

  var utf8Decoder = new TextDecoder("utf-8", { fatal: true });

  function asciiBytes(text) {
    var out = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
    return out;
  }

  function bytesText(bytes) {
    var out = "";
    for (var i = 0; i < bytes.length; i += 0x8000) {
      out += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return out;
  }

  function b64urlEncode(bytes) {
    return btoa(bytesText(bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  /* Strict base64url without padding (RFC 7515 §2), canonical: re-encoding gives it back. */
  function b64urlDecode(text) {
    if (typeof text !== "string" || !/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) {
      throw new Error("not base64url");
    }
    var padded = text.replace(/-/g, "+").replace(/_/g, "/");
    while (padded.length % 4) padded += "=";
    var bytes = asciiBytes(atob(padded));
    if (b64urlEncode(bytes) !== text) throw new Error("not canonical base64url");
    return bytes;
  }

  function b64Decode(text) {
    return asciiBytes(atob(text));
  }

  function concat(parts) {
    var length = parts.reduce(function (sum, part) {
      return sum + part.length;
    }, 0);
    var out = new Uint8Array(length);
    var at = 0;
    parts.forEach(function (part) {
      out.set(part, at);
      at += part.length;
    });
    return out;
  }

  function sha256(bytes) {
    return crypto.subtle.digest("SHA-256", bytes).then(function (digest) {
      return new Uint8Array(digest);
    });
  }

  /* RFC 9901 §4.2.3: base64url(SHA-256(the ASCII bytes of the base64url text)). */
  function digestOf(text) {
    return sha256(asciiBytes(text)).then(b64urlEncode);
  }

  function jsonOf(bytes, what) {
    try {
      return JSON.parse(utf8Decoder.decode(bytes));
    } catch (error) {
      fail("malformed", what + " is not UTF-8 JSON");
    }
  }

  function isObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }

  //: 9999-12-31T23:59:59Z, as licenses/jose.py: a larger NumericDate names no calendar date
  //: (and one beyond the range of a Date made toISOString throw).
  var MAX_NUMERIC_DATE = 253402300799;

  function isNumericDate(value) {
    return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= MAX_NUMERIC_DATE;
  }

  function iso(seconds) {
    return new Date(seconds * 1000).toISOString().replace(".000Z", "+00:00");
  }

  // -- Base45 (RFC 9285 §4.2) ----------------------------------------------------------------

  function b45decode(text) {
    if (text.length % 3 === 1) fail("qr-invalid-base45", "Base45 text of 3k + 1 characters");
    var out = [];
    for (var i = 0; i < text.length; i += 3) {
      var n = 0;
      var factor = 1;
      var group = text.slice(i, i + 3);
      for (var j = 0; j < group.length; j++) {
        var value = BASE45.indexOf(group[j]);
        if (value < 0) fail("qr-invalid-base45", JSON.stringify(group[j]) + " is not Base45");
        n += value * factor;
        factor *= 45;
      }
      if (group.length === 3) {
        if (n > 0xffff) fail("qr-invalid-base45", "a Base45 group exceeds 65535");
        out.push(n >> 8, n & 0xff);
      } else {
        if (n > 0xff) fail("qr-invalid-base45", "the last Base45 pair exceeds 255");
        out.push(n);
      }
    }
    return new Uint8Array(out);
  }

  // -- GW1 offline QR (docs/qr-format.md) ----------------------------------------------------

  function FrameReader(data) {
    this.data = data;
    this.at = 0;
  }

  FrameReader.prototype.take = function (length, what) {
    var end = this.at + length;
    if (end > this.data.length) fail("qr-truncated-frame", "the frame ends inside " + what);
    var value = this.data.subarray(this.at, end);
    this.at = end;
    return value;
  };

  FrameReader.prototype.varint = function (what) {
    var value = 0;
    for (var position = 0; position < MAX_VARINT_BYTES; position++) {
      var byte = this.take(1, what)[0];
      value |= (byte & 0x7f) << (7 * position);
      if (!(byte & 0x80)) {
        if (position && !byte) fail("qr-malformed-frame", what + " is not a minimal varint");
        return value;
      }
    }
    fail("qr-malformed-frame", what + " is longer than " + MAX_VARINT_BYTES + " varint bytes");
  };

  FrameReader.prototype.segment = function (what) {
    return this.take(this.varint("the length of " + what), what);
  };

  function decodeText(segment, values, pool, what) {
    var out = [];
    var at = 0;
    for (;;) {
      var found = segment.indexOf(REF, at);
      if (found < 0) break;
      out.push(segment.subarray(at, found));
      if (found + 1 === segment.length) fail("qr-malformed-frame", what + " ends inside a reference");
      var number = segment[found + 1];
      at = found + 2;
      if (number === REF_LITERAL) {
        out.push(new Uint8Array([REF]));
      } else if (number === REF_BYTES) {
        if (at === segment.length || segment[at] === 0) {
          fail("qr-malformed-frame", what + " has a byte-pool reference without a length");
        }
        out.push(asciiBytes(b64urlEncode(pool.take(segment[at], "a value of " + what))));
        at += 1;
      } else if (Object.prototype.hasOwnProperty.call(values, number)) {
        out.push(asciiBytes(values[number]));
      } else {
        fail("qr-malformed-frame", what + " refers to a value it cannot");
      }
    }
    out.push(segment.subarray(at));
    return concat(out);
  }

  function jwtText(header, payload, signature) {
    return [b64urlEncode(header), b64urlEncode(payload), b64urlEncode(signature)].join(".");
  }

  function sdJwtText(issuerJwt, disclosures) {
    return (
      jwtText(issuerJwt[0], issuerJwt[1], issuerJwt[2]) +
      "~" +
      disclosures
        .map(function (d) {
          return b64urlEncode(d) + "~";
        })
        .join("")
    );
  }

  /* The inverse of licenses/qr.py _unframe: resolves to the presentation text. */
  async function unframe(frame) {
    var reader = new FrameReader(frame);
    var flags = reader.take(1, "the flags byte")[0];
    if (flags & ~0x01) fail("qr-malformed-frame", "reserved flag bits are set");
    var keyBinding = !!(flags & 0x01);
    var count = reader.varint("the disclosure count");
    var names = [];
    for (var i = 1; i <= count; i++) names.push("disclosure " + i);
    names.push("the issuer-signed JWT header", "the issuer-signed JWT payload");
    if (keyBinding) names.push("the key-binding JWT header", "the key-binding JWT payload");
    var texts = names.map(function (name) {
      return reader.segment(name);
    });
    var issuerSignature = reader.segment("the issuer-signed JWT signature");
    var kbSignature = keyBinding ? reader.segment("the key-binding JWT signature") : null;
    var pool = new FrameReader(frame.subarray(reader.at));

    var disclosures = [];
    var values = {};
    var digestCount = 0;
    for (var d = 0; d < count; d++) {
      disclosures.push(decodeText(texts[d], values, pool, names[d]));
      if (digestCount < MAX_DIGEST_REFERENCES) {
        values[digestCount] = await digestOf(b64urlEncode(disclosures[d]));
        digestCount += 1;
      }
    }
    var header = decodeText(texts[count], values, pool, names[count]);
    var payload = decodeText(texts[count + 1], values, pool, names[count + 1]);
    var issuerJwt = [header, payload, issuerSignature];
    var text = sdJwtText(issuerJwt, disclosures);
    if (keyBinding) {
      values[REF_SD_HASH] = await digestOf(text);
      var kbHeader = decodeText(texts[count + 2], values, pool, names[count + 2]);
      var kbPayload = decodeText(texts[count + 3], values, pool, names[count + 3]);
      text += jwtText(kbHeader, kbPayload, kbSignature);
    }
    if (pool.at !== pool.data.length) fail("qr-malformed-frame", "bytes of the byte pool are unused");
    return text;
  }

  /* GW1 text → the presentation, byte for byte (docs/qr-format.md). */
  async function decodeGw1(text, cache) {
    if (text.indexOf(GW1_PREFIX) !== 0) {
      if (/^GW\d+:/.test(text)) fail("qr-unsupported-version", "this offline QR version is not supported");
      fail("qr-unknown-prefix", "offline QR text starts with 'GW1:'");
    }
    if (typeof window.pako === "undefined") throw new Error("pako is not loaded");
    var compressed = b45decode(text.slice(GW1_PREFIX.length));
    var limit = cache.gw1_max_frame_bytes || 65536;
    var frame;
    try {
      var inflator = new window.pako.Inflate({ dictionary: b64Decode(cache.gw1_dictionary) });
      inflator.push(compressed, true);
      if (inflator.err || !inflator.ended) throw new Error(inflator.msg || "incomplete");
      frame = inflator.result;
    } catch (error) {
      fail("qr-invalid-compression", "the payload is not a GW1 zlib stream");
    }
    if (!(frame instanceof Uint8Array) || frame.length > limit) {
      fail("qr-invalid-compression", "the payload inflates beyond " + limit + " bytes");
    }
    return unframe(frame);
  }

  // -- JWS (RFC 7515 compact) with WebCrypto ES256 ------------------------------------------

  //: joserfc's limits on each part (bytes of the base64url text), as licenses/jose.py applies them.
  var MAX_HEADER = 512;
  var MAX_PAYLOAD = 128000;
  var MAX_SIGNATURE = 1024;

  function readCompact(token, what) {
    if (typeof token !== "string" || token.split(".").length !== 3) {
      fail("malformed", "the " + what + " is not a compact JWS (three base64url parts)");
    }
    var parts = token.split(".");
    if (
      token.length > MAX_HEADER + MAX_PAYLOAD + MAX_SIGNATURE ||
      parts[0].length > MAX_HEADER ||
      parts[1].length > MAX_PAYLOAD ||
      parts[2].length > MAX_SIGNATURE
    ) {
      fail("malformed", "the " + what + " is not a well-formed JWS: a part exceeds its size limit");
    }
    var header;
    var payload;
    var signature;
    try {
      header = jsonOf(b64urlDecode(parts[0]), "the " + what + " header");
      payload = jsonOf(b64urlDecode(parts[1]), "the " + what + " payload");
    } catch (error) {
      if (error instanceof Failure) throw error;
      fail("malformed", "the " + what + " is not a well-formed JWS");
    }
    try {
      signature = b64urlDecode(parts[2]);
    } catch (error) {
      signature = new Uint8Array(0); // as joserfc: an undecodable signature does not verify
    }
    if (!isObject(header) || !isObject(payload)) {
      fail("malformed", "the " + what + " header and payload must be JSON objects");
    }
    if (!("alg" in header)) fail("malformed", "the " + what + " header names no alg");
    if ("b64" in header && header.b64 !== true) {
      fail("malformed", "the " + what + " is not a well-formed JWS: unencoded payloads (b64) are not accepted");
    }
    return {
      header: header,
      payload: payload,
      signature: signature,
      signingInput: asciiBytes(parts[0] + "." + parts[1]),
    };
  }

  function isString(value) {
    return typeof value === "string";
  }

  function isUrl(value) {
    return isString(value) && (value.indexOf("http://") === 0 || value.indexOf("https://") === 0);
  }

  function isStringList(value) {
    return Array.isArray(value) && value.every(isString);
  }

  //: The JWS header parameters joserfc knows (RFC 7515 §4.1, RFC 7797 b64) and the type each
  //: must have; licenses/jose.py refuses any other member, as joserfc's strict check does.
  var HEADER_PARAMETERS = {
    alg: isString,
    jku: isUrl,
    jwk: isObject,
    kid: isString,
    x5u: isUrl,
    x5c: isStringList,
    x5t: isString,
    "x5t#S256": isString,
    typ: isString,
    cty: isString,
    crit: isStringList,
    b64: function (value) {
      return typeof value === "boolean";
    },
  };

  /* Why joserfc's check_header would refuse a JWS header, or null: "crit" (RFC 7515 §4.1.11)
   * a non-empty list of names present in the header and understood, every member a
   * parameter it knows with a value of the right type. Checked before the signature. */
  function headerProblem(header) {
    if ("crit" in header) {
      if (!isStringList(header.crit) || !header.crit.length) {
        return "'crit' in header must be a non-empty list of header parameter names";
      }
      for (var i = 0; i < header.crit.length; i++) {
        if (!(header.crit[i] in header)) return "missing critical '" + header.crit[i] + "' in header";
        if (!Object.prototype.hasOwnProperty.call(HEADER_PARAMETERS, header.crit[i])) {
          return "unsupported critical '" + header.crit[i] + "' in header";
        }
      }
    }
    for (var name in header) {
      if (!Object.prototype.hasOwnProperty.call(HEADER_PARAMETERS, name)) return "unsupported '" + name + "' in header";
      if (!HEADER_PARAMETERS[name](header[name])) return "'" + name + "' in header has the wrong type";
    }
    return null;
  }

  function requireHeader(jws, typ, what) {
    if (jws.header.typ !== typ) fail("malformed", "the " + what + " must have typ '" + typ + "'");
    if (jws.header.alg !== "ES256") fail("malformed", "the " + what + " must be signed with ES256");
  }

  var keyCache = {};

  var KEY_OPERATIONS = {
    sig: ["sign", "verify"],
    enc: ["encrypt", "decrypt", "wrapKey", "unwrapKey", "deriveKey", "deriveBits"],
  };
  var ALL_KEY_OPERATIONS = KEY_OPERATIONS.sig.concat(KEY_OPERATIONS.enc);

  function oneOf(choices) {
    return function (value) {
      return Array.isArray(value)
        ? value.every(function (v) {
            return choices.indexOf(v) >= 0;
          })
        : choices.indexOf(value) >= 0;
    };
  }

  //: The JWK members joserfc checks on import (RFC 7517 §4, RFC 7518 §6.2.1) and their types.
  var JWK_PARAMETERS = {
    kty: isString,
    use: oneOf(["sig", "enc"]),
    key_ops: oneOf(ALL_KEY_OPERATIONS),
    alg: isString,
    kid: isString,
    x5u: isUrl,
    x5c: isStringList,
    x5t: isString,
    "x5t#S256": isString,
    crv: isString,
    x: isString,
    y: isString,
  };

  /* Why joserfc would not verify with this public P-256 JWK, or null. */
  function jwkProblem(jwk) {
    if (!isObject(jwk) || jwk.kty !== "EC" || jwk.crv !== "P-256" || "d" in jwk) {
      return "the key is not a public P-256 key";
    }
    for (var name in JWK_PARAMETERS) {
      if (name in jwk && !JWK_PARAMETERS[name](jwk[name])) return "the key's '" + name + "' has the wrong type";
    }
    if ("key_ops" in jwk) {
      if (jwk.key_ops.indexOf("verify") < 0) return "the key's key_ops do not allow verify";
      if ("use" in jwk) {
        if (typeof jwk.use !== "string") return "the key's use must be one value beside key_ops";
        for (var i = 0; i < jwk.key_ops.length; i++) {
          if (KEY_OPERATIONS[jwk.use].indexOf(jwk.key_ops[i]) < 0) return "the key's use and key_ops do not match";
        }
      }
    }
    return null;
  }

  function importKey(jwk) {
    var problem = jwkProblem(jwk);
    if (problem) return Promise.reject(new Failure("key", problem));
    var cacheKey = jwk.x + "." + jwk.y;
    if (!keyCache[cacheKey]) {
      keyCache[cacheKey] = crypto.subtle.importKey(
        "jwk",
        { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y, ext: true },
        { name: "ECDSA", namedCurve: "P-256" },
        false,
        ["verify"]
      );
    }
    return keyCache[cacheKey];
  }

  /* Resolves to true when the signature verifies (ES256: 64 bytes r || s). */
  async function signatureValid(jws, jwk) {
    if (jws.signature.length !== 64) return false;
    try {
      var key = await importKey(jwk);
      return await crypto.subtle.verify(
        { name: "ECDSA", hash: "SHA-256" },
        key,
        jws.signature,
        jws.signingInput
      );
    } catch (error) {
      return false;
    }
  }

  function findJwk(jwks, kid) {
    var keys = isObject(jwks) && Array.isArray(jwks.keys) ? jwks.keys : [];
    for (var i = 0; i < keys.length; i++) {
      if (isObject(keys[i]) && typeof kid === "string" && keys[i].kid === kid) return keys[i];
    }
    return null;
  }

  async function verifyPlatformJwt(token, typ, jwks, what) {
    var jws = readCompact(token, what);
    requireHeader(jws, typ, what);
    var jwk = findJwk(jwks, jws.header.kid);
    if (!jwk) fail("untrusted", "the " + what + " is signed with a key the platform does not publish");
    var problem = headerProblem(jws.header);
    if (problem) fail("signature", "the " + what + " signature does not verify: " + problem);
    if (!(await signatureValid(jws, jwk))) fail("signature", "the " + what + " signature does not verify");
    return jws.payload;
  }

  // -- the trust list and status lists -------------------------------------------------------

  async function verifyTrustList(token, jwks, issuer, now) {
    var claims = await verifyPlatformJwt(token, TRUST_LIST_TYP, jwks, "trust list");
    if (claims.iss !== issuer) fail("trust-list-invalid", "the trust list was issued by another platform");
    if (!isNumericDate(claims.iat) || !isNumericDate(claims.exp)) {
      fail("trust-list-invalid", "the trust list needs NumericDate iat and exp");
    }
    if (claims.iat > now + CLOCK_SKEW) fail("trust-list-invalid", "the trust list is dated in the future");
    if (!Array.isArray(claims.agencies)) fail("trust-list-invalid", "the trust list has no agencies array");
    var byIss = {};
    var byKid = {};
    claims.agencies.forEach(function (agency) {
      if (!isObject(agency) || typeof agency.iss !== "string" || !isObject(agency.jwks)) {
        fail("trust-list-invalid", "a trust-list entry is malformed");
      }
      if (byIss[agency.iss]) fail("trust-list-invalid", "two agencies share the issuer " + agency.iss);
      byIss[agency.iss] = agency;
      (agency.jwks.keys || []).forEach(function (jwk) {
        if (byKid[jwk.kid]) fail("trust-list-invalid", "two agencies publish the key " + jwk.kid);
        byKid[jwk.kid] = { agency: agency, jwk: jwk };
      });
    });
    return { issuedAt: claims.iat, expiresAt: claims.exp, byIss: byIss, byKid: byKid };
  }

  async function verifyStatusList(token, jwks, uri, now) {
    var claims = await verifyPlatformJwt(token, STATUS_LIST_TYP, jwks, "status list");
    //: §8.3 step 4: "the sub claim ... MUST be equal to the uri claim" of the reference.
    if (claims.sub !== uri) fail("status-list-invalid", "the status list token is for another URI");
    if (!isNumericDate(claims.iat)) fail("status-list-invalid", "the status list token has no valid iat");
    if (claims.iat > now + CLOCK_SKEW) fail("status-list-invalid", "the status list token is dated in the future");
    if (claims.exp !== undefined && !isNumericDate(claims.exp)) {
      fail("status-list-invalid", "the status list token's exp is not a NumericDate");
    }
    if (claims.ttl !== undefined && (!isNumericDate(claims.ttl) || claims.ttl === 0)) {
      fail("status-list-invalid", "the status list token's ttl must be a positive number");
    }
    var list = claims.status_list;
    if (!isObject(list) || [1, 2, 4, 8].indexOf(list.bits) < 0 || typeof list.lst !== "string") {
      fail("status-list-invalid", "status_list needs bits and lst");
    }
    var bytes;
    try {
      bytes = window.pako.inflate(b64urlDecode(list.lst));
    } catch (error) {
      fail("status-list-invalid", "status_list.lst is not base64url zlib data");
    }
    return {
      uri: uri,
      issuedAt: claims.iat,
      expiresAt: claims.exp === undefined ? null : claims.exp,
      ttl: claims.ttl === undefined ? null : claims.ttl,
      bits: list.bits,
      bytes: bytes,
    };
  }

  /* §4.1: index 0 in the least significant bits of byte 0. */
  function statusAt(list, idx) {
    var size = Math.floor((list.bytes.length * 8) / list.bits);
    if (idx < 0 || idx >= size) {
      fail("status-list-invalid", "index " + idx + " is outside the list of " + size + " entries");
    }
    var bit = idx * list.bits;
    return (list.bytes[bit >> 3] >> (bit & 7)) & ((1 << list.bits) - 1);
  }

  // -- disclosures (RFC 9901 §7.1 step 3) ----------------------------------------------------

  async function parseDisclosures(encodedList) {
    var byDigest = {};
    for (var i = 0; i < encodedList.length; i++) {
      var encoded = encodedList[i];
      var array;
      try {
        array = jsonOf(b64urlDecode(encoded), "a disclosure");
      } catch (error) {
        fail("invalid-disclosure", "a disclosure is not base64url-encoded JSON");
      }
      if (!Array.isArray(array) || (array.length !== 2 && array.length !== 3)) {
        fail("invalid-disclosure", "a disclosure must be a JSON array of 2 or 3 elements");
      }
      if (typeof array[0] !== "string") fail("invalid-disclosure", "a disclosure's salt must be a string");
      var name = null;
      if (array.length === 3) {
        name = array[1];
        if (typeof name !== "string") fail("invalid-disclosure", "a disclosure's claim name must be a string");
        if (name === "_sd" || name === "...") fail("invalid-disclosure", "a disclosure uses a reserved claim name");
      }
      var digest = await digestOf(encoded);
      if (byDigest[digest]) fail("invalid-disclosure", "the same disclosure is presented twice");
      byDigest[digest] = { name: name, value: array[array.length - 1] };
    }
    return byDigest;
  }

  function unpackClaims(payload, byDigest) {
    //: 3.1: only sha-256 is accepted.
    if (payload._sd_alg !== undefined && payload._sd_alg !== "sha-256") {
      fail("invalid-disclosure", "unsupported _sd_alg");
    }
    var seen = {};
    var used = {};

    function sighting(digest) {
      if (typeof digest !== "string") fail("invalid-disclosure", "a digest in the credential is not a string");
      //: 3.4: a digest encountered more than once MUST be rejected.
      if (seen[digest]) fail("invalid-disclosure", "a digest appears more than once in the credential");
      seen[digest] = true;
    }

    function unpack(node, topLevel) {
      if (Array.isArray(node)) {
        var items = [];
        node.forEach(function (element) {
          if (isObject(element) && Object.keys(element).length === 1 && "..." in element) {
            sighting(element["..."]);
            var found = byDigest[element["..."]];
            if (!found) return; // 3.3.2: undisclosed elements are removed
            if (found.name !== null) fail("invalid-disclosure", "a claim disclosure is referenced as an array element");
            used[element["..."]] = true;
            items.push(unpack(found.value, false));
          } else {
            items.push(unpack(element, false));
          }
        });
        return items;
      }
      if (!isObject(node)) return node;
      var digests = node._sd === undefined ? [] : node._sd;
      if (!Array.isArray(digests)) fail("invalid-disclosure", "an _sd member is not an array");
      var result = {};
      Object.keys(node).forEach(function (key) {
        if (key !== "_sd" && !(topLevel && key === "_sd_alg")) result[key] = unpack(node[key], false);
      });
      digests.forEach(function (digest) {
        sighting(digest);
        var found = byDigest[digest];
        if (!found) return; // undisclosed, or a decoy
        if (found.name === null) fail("invalid-disclosure", "an array-element disclosure is referenced as a claim");
        if (topLevel && NEVER_DISCLOSABLE.indexOf(found.name) >= 0) {
          fail("invalid-disclosure", "'" + found.name + "' must not be selectively disclosed");
        }
        //: 3.2.3.3: a claim name that already exists at this level MUST be rejected.
        if (Object.prototype.hasOwnProperty.call(result, found.name)) {
          fail("invalid-disclosure", "the claim '" + found.name + "' is disclosed twice");
        }
        used[digest] = true;
        result[found.name] = unpack(found.value, false);
      });
      return result;
    }

    var claims = unpack(payload, true);
    //: 3.5: every disclosure MUST be referenced by the signed credential.
    var unreferenced = Object.keys(byDigest).filter(function (digest) {
      return !used[digest];
    });
    if (unreferenced.length) fail("invalid-disclosure", "disclosure(s) not referenced by the signed credential");
    return claims;
  }

  // -- verify_presentation, mirrored ---------------------------------------------------------

  function passed(details) {
    var check = { outcome: "passed" };
    if (details) check.details = details;
    return check;
  }

  function failed(error, details) {
    var check = {
      outcome: "failed",
      reason: error && error.message ? error.message : String(error),
      code: error && error.code ? error.code : "failed",
    };
    if (details) check.details = details;
    return check;
  }

  function agencySummary(agency) {
    return {
      id: agency.id,
      name: agency.name,
      credit_code: agency.credit_code,
      region_code: agency.region_code,
      iss: agency.iss,
      license_types: agency.license_types,
    };
  }

  async function verifyPresentation(presentation, cache, nowSeconds) {
    var now = nowSeconds === undefined ? Math.floor(Date.now() / 1000) : nowSeconds;
    var checks = {};
    var claims = {};
    var result = {
      valid: false,
      checks: checks,
      claims: claims,
      license_id: null,
      license_type: null,
      status: null,
      issuer: null,
      trust_list: null,
      status_list: null,
    };
    var trust = await verifyTrustList(cache.trust_list, cache.jwks, cache.issuer, now);
    result.trust_list = {
      issued_at: iso(trust.issuedAt),
      expires_at: iso(trust.expiresAt),
      age_seconds: now - trust.issuedAt,
      expired: trust.expiresAt <= now,
    };

    // format
    var text = String(presentation).trim();
    var parts = text.split("~");
    var issuerJws;
    try {
      if (parts.length < 2) fail("malformed-presentation", "not an SD-JWT: no '~' separator");
      //: Every part is base64url, joined by '.' and '~' (RFC 9901 §4): ASCII only.
      if (/[^\x00-\x7f]/.test(text)) {
        fail("malformed-presentation", "not an SD-JWT: a character outside base64url, '.' and '~'");
      }
      if (parts.slice(1, -1).some(function (p) {
        return !p;
      })) {
        fail("malformed-presentation", "not an SD-JWT: an empty disclosure between '~~'");
      }
      issuerJws = readCompact(parts[0], "issuer-signed JWT");
      requireHeader(issuerJws, SD_JWT_VC_TYP, "credential");
      ["iss", "vct"].forEach(function (name) {
        if (typeof issuerJws.payload[name] !== "string" || !issuerJws.payload[name]) {
          fail("malformed-presentation", "the credential has no '" + name + "' claim");
        }
      });
      ["iat", "nbf", "exp"].forEach(function (name) {
        if (name in issuerJws.payload && !isNumericDate(issuerJws.payload[name])) {
          fail("malformed-presentation", "the credential's '" + name + "' is not a NumericDate");
        }
      });
      var last = parts[parts.length - 1];
      if (last && last.split(".").length !== 3) {
        fail("malformed-presentation", "the part after the last '~' is not a key-binding JWT");
      }
      checks.format = passed();
    } catch (error) {
      checks.format = failed(error);
      return finish(result);
    }
    var payload = issuerJws.payload;
    var disclosures = parts.slice(1, -1);
    var kbJwt = parts[parts.length - 1] || null;

    // signature and issuer_trusted
    var kid = typeof issuerJws.header.kid === "string" ? issuerJws.header.kid : null;
    var located = kid !== null ? trust.byKid[kid] || null : null;
    var signatureOk = false;
    var issuerHeaderProblem = headerProblem(issuerJws.header);
    if (kid === null) {
      checks.signature = failed(new Failure("untrusted-issuer", "the credential header names no signing key (kid)"));
    } else if (!located) {
      checks.signature = failed(new Failure("untrusted-issuer", "the signing key " + kid + " is not in the trust list"));
    } else if (issuerHeaderProblem) {
      checks.signature = failed(
        new Failure("invalid-signature", "the issuer-signed JWT signature does not verify: " + issuerHeaderProblem)
      );
    } else if (await signatureValid(issuerJws, located.jwk)) {
      checks.signature = passed();
      signatureOk = true;
    } else {
      checks.signature = failed(new Failure("invalid-signature", "the issuer-signed JWT signature does not verify"));
    }
    var agency = trust.byIss[payload.iss] || null;
    var trustError = null;
    if (!agency) {
      trustError = new Failure("untrusted-issuer", "the issuer " + payload.iss + " is not in the trust list");
    } else if (located && located.agency !== agency) {
      trustError = new Failure(
        "untrusted-issuer",
        "the credential names " + agency.name + " as issuer but is signed with a key of " + located.agency.name
      );
    } else if (kid !== null && !located) {
      trustError = new Failure("untrusted-issuer", "the key " + kid + " is not one of " + agency.name + "'s keys");
    } else if (trust.expiresAt <= now) {
      trustError = new Failure(
        "trust-list-expired",
        "the trust list expired at " + iso(trust.expiresAt) + "; it is " + (now - trust.issuedAt) + " s old — refresh it"
      );
    }
    checks.issuer_trusted = trustError ? failed(trustError) : passed();
    if (!signatureOk || trustError) {
      result.issuer = signatureOk && agency ? agencySummary(agency) : null;
      return finish(result);
    }
    result.issuer = agencySummary(agency);
    result.license_type = typeof payload.vct === "string" ? payload.vct : null;
    result.license_id = typeof payload.license_id === "string" ? payload.license_id : null;

    // issuer_authorised
    checks.issuer_authorised =
      (agency.license_types || []).indexOf(payload.vct) >= 0
        ? passed()
        : failed(new Failure("issuer-not-authorised", agency.name + " is not authorised to issue " + payload.vct));

    // validity_period (RFC 7519 §4.1.4 / §4.1.5)
    if ("exp" in payload && payload.exp <= now - CLOCK_SKEW) {
      checks.validity_period = failed(new Failure("credential-expired", "the license expired at " + iso(payload.exp)));
    } else if ("nbf" in payload && payload.nbf > now + CLOCK_SKEW) {
      checks.validity_period = failed(new Failure("credential-not-yet-valid", "the license is not valid before " + iso(payload.nbf)));
    } else if ("iat" in payload && payload.iat > now + CLOCK_SKEW) {
      checks.validity_period = failed(new Failure("credential-not-yet-valid", "the credential is dated in the future"));
    } else {
      checks.validity_period = passed();
    }

    // status (Token Status List)
    try {
      var reference = isObject(payload.status) ? payload.status.status_list : null;
      if (!isObject(reference) || typeof reference.uri !== "string" || !reference.uri || !isNumericDate(reference.idx)) {
        fail("invalid-status-list", "the credential's status_list reference needs a uri and an idx");
      }
      var token = (cache.status_lists || {})[reference.uri];
      if (!token) {
        fail("status-list-unavailable", "no status list for " + reference.uri + " is cached; go online and reload");
      }
      var list = await verifyStatusList(token, cache.jwks, reference.uri, now);
      var age = now - list.issuedAt;
      result.status_list = {
        uri: reference.uri,
        issued_at: iso(list.issuedAt),
        expires_at: list.expiresAt === null ? null : iso(list.expiresAt),
        age_seconds: age,
        stale: list.ttl !== null && list.issuedAt + list.ttl <= now,
        expired: list.expiresAt !== null && list.expiresAt <= now,
      };
      //: draft-ietf-oauth-status-list §8.3: an expired Status List Token MUST NOT be relied upon.
      if (result.status_list.expired) {
        fail("status-list-expired", "the status list expired at " + iso(list.expiresAt) + "; it is " + age + " s old — fetch a fresh one");
      }
      var value = statusAt(list, reference.idx);
      //: §7.1: 0x03 and 0x0B until 0x0F are application specific; other values beyond the
      //: named ones are reserved. A list of 4 or 8 bits can hold any of them.
      var applicationSpecific = value === 3 || (value >= 0x0b && value <= 0x0f);
      if (value > 2 && !applicationSpecific) {
        var hex = (value < 16 ? "0x0" : "0x") + value.toString(16);
        fail("invalid-status-list", "the status list holds the reserved value " + hex + " for the license; this verifier does not know what it means");
      }
      result.status = ["valid", "invalid", "suspended"][value] || "application_specific";
      if (value === 0) checks.status = passed();
      else if (value === 1) checks.status = failed(new Failure("license-revoked", "the license has been revoked"));
      else if (value === 2) checks.status = failed(new Failure("license-suspended", "the license is suspended"));
      else checks.status = failed(new Failure("invalid-status-list", "unknown status value " + value + " for the license (application-specific)"));
    } catch (error) {
      checks.status = failed(error);
    }

    // disclosures
    try {
      var unpacked = unpackClaims(payload, await parseDisclosures(disclosures));
      Object.keys(unpacked).forEach(function (name) {
        if (ENVELOPE.indexOf(name) < 0) claims[name] = unpacked[name];
      });
      checks.disclosures = passed();
    } catch (error) {
      checks.disclosures = failed(error);
    }

    // key_binding (RFC 9901 §7.3); none is required without an audience or nonce
    if (kbJwt === null) {
      checks.key_binding = { outcome: "skipped", reason: "no key-binding JWT; none was required" };
    } else {
      var maxAge = cache.key_binding_max_age || KEY_BINDING_MAX_AGE;
      checks.key_binding = await checkKeyBinding(kbJwt, payload, parts, now, maxAge);
    }
    return finish(result);
  }

  async function checkKeyBinding(kbJwt, payload, parts, now, maxAge) {
    var details = { format: "skipped", signature: "skipped", aud: "skipped", nonce: "skipped", iat: "skipped", sd_hash: "skipped" };
    var holder = isObject(payload.cnf) && isObject(payload.cnf.jwk) ? payload.cnf.jwk : null;
    if (!holder) return failed(new Failure("key-binding-signature-invalid", "the credential is not bound to a holder key (no cnf.jwk)"));
    var kb;
    try {
      kb = readCompact(kbJwt, "KB-JWT");
      requireHeader(kb, KB_JWT_TYP, "KB-JWT");
    } catch (error) {
      details.format = "failed";
      return failed(new Failure("key-binding-malformed", error.message), details);
    }
    details.format = "passed";
    var kbHeaderProblem = headerProblem(kb.header);
    if (kbHeaderProblem) {
      details.signature = "failed";
      return failed(new Failure("key-binding-signature-invalid", "the key-binding JWT signature does not verify: " + kbHeaderProblem), details);
    }
    if (!(await signatureValid(kb, holder))) {
      details.signature = "failed";
      return failed(new Failure("key-binding-signature-invalid", "the key-binding JWT signature does not verify"), details);
    }
    details.signature = "passed";
    var firstError = null;
    //: §7.3 step 5.3: the iat within an acceptable window.
    var iat = kb.payload.iat;
    if (!isNumericDate(iat)) firstError = new Failure("key-binding-not-fresh", "the key-binding JWT has no valid iat");
    else if (iat > now + CLOCK_SKEW) firstError = new Failure("key-binding-not-fresh", "the key-binding JWT is dated in the future");
    else if (now - iat > maxAge + CLOCK_SKEW) {
      firstError = new Failure("key-binding-not-fresh", "the key-binding JWT is " + (now - iat) + " s old; at most " + maxAge + " s is accepted");
    }
    details.iat = firstError ? "failed" : "passed";
    //: §7.3 step 5.4: sd_hash matches the presentation up to and including the last ~.
    var sdJwt = parts.slice(0, -1).join("~") + "~";
    var hashOk = kb.payload.sd_hash === (await digestOf(sdJwt));
    details.sd_hash = hashOk ? "passed" : "failed";
    if (!hashOk && !firstError) {
      firstError = new Failure("key-binding-hash-mismatch", "the key-binding JWT's sd_hash does not match this presentation's disclosures");
    }
    return firstError ? failed(firstError, details) : passed(details);
  }

  function finish(result) {
    var firstFailure = null;
    CHECKS.forEach(function (name) {
      if (!firstFailure && result.checks[name] && result.checks[name].outcome === "failed") firstFailure = name;
    });
    var ordered = {};
    CHECKS.forEach(function (name) {
      ordered[name] = result.checks[name] || { outcome: "skipped", reason: "not checked: the " + firstFailure + " check failed" };
    });
    result.checks = ordered;
    result.valid = CHECKS.every(function (name) {
      var check = ordered[name];
      return check.outcome === "passed" || (name === "key_binding" && check.outcome === "skipped");
    });
    return result;
  }

  // -- the cache -----------------------------------------------------------------------------

  function cached() {
    try {
      var raw = window.localStorage.getItem(STORE_KEY);
      return raw ? JSON.parse(raw) : null;
    } catch (error) {
      return null;
    }
  }

  function fetchText(url) {
    return window.fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (response) {
      if (!response.ok) throw new Error(url + ": HTTP " + response.status);
      return response.text();
    });
  }

  /* Fetch the signed lists, verify them, store them with the fetch time. */
  async function refresh(kitUrl) {
    var kit = JSON.parse(await fetchText(kitUrl));
    var jwks = JSON.parse(await fetchText(kit.jwks_url));
    var trustList = (await fetchText(kit.trust_list_url)).trim();
    var now = Math.floor(Date.now() / 1000);
    await verifyTrustList(trustList, jwks, kit.issuer, now);
    var statusLists = {};
    for (var i = 0; i < kit.status_lists.length; i++) {
      var entry = kit.status_lists[i];
      var token = (await fetchText(entry.url)).trim();
      await verifyStatusList(token, jwks, entry.uri, now);
      statusLists[entry.uri] = token;
    }
    var store = {
      fetched_at: Date.now(),
      issuer: kit.issuer,
      jwks: jwks,
      trust_list: trustList,
      status_lists: statusLists,
      gw1_dictionary: kit.gw1_dictionary,
      gw1_max_frame_bytes: kit.gw1_max_frame_bytes,
      key_binding_max_age: kit.key_binding_max_age,
    };
    window.localStorage.setItem(STORE_KEY, JSON.stringify(store));
    return store;
  }

  /* QR text → the verification result, entirely in the browser. */
  async function verifyQr(text, nowSeconds) {
    var cache = cached();
    if (!cache) throw new Failure("no-cache", "no lists are cached for offline use");
    var presentation = await decodeGw1(text, cache);
    var result = await verifyPresentation(presentation, cache, nowSeconds);
    result.offline = {
      fetched_at: new Date(cache.fetched_at).toISOString(),
      age_seconds: Math.max(0, Math.round((Date.now() - cache.fetched_at) / 1000)),
    };
    return result;
  }

  window.GovwalletOffline = {
    refresh: refresh,
    cached: cached,
    verifyQr: verifyQr,
    verifyPresentation: verifyPresentation,
    decodeGw1: decodeGw1,
    Failure: Failure,
  };

  // -- the page: service worker and list refresh ---------------------------------------------

  function formatAge(seconds) {
    if (window.GovwalletVerifier) return window.GovwalletVerifier.formatAge(seconds);
    return Math.round(seconds) + " s";
  }

  function showCacheAge(root) {
    var line = root.querySelector("[data-offline-status]");
    if (!line) return;
    var cache = cached();
    if (!cache) {
      line.textContent = root.getAttribute("data-text-offline-none") || "No lists cached for offline use yet.";
      return;
    }
    var age = formatAge((Date.now() - cache.fetched_at) / 1000);
    line.textContent = (root.getAttribute("data-text-offline-cached") || "Lists cached {age} ago").replace("{age}", age);
    line.setAttribute("data-fetched-at", String(cache.fetched_at));
  }

  function setUp(root) {
    var swUrl = root.getAttribute("data-service-worker-url");
    if (swUrl && navigator.serviceWorker) {
      navigator.serviceWorker
        .register(swUrl, { scope: root.getAttribute("data-service-worker-scope") || "/verifier" })
        .catch(function () {
          /* without a service worker the page still verifies online */
        });
    }
    var kitUrl = root.getAttribute("data-offline-kit-url");
    showCacheAge(root);
    if (!kitUrl || navigator.onLine === false) return;
    var line = root.querySelector("[data-offline-status]");
    if (line && !cached()) line.textContent = root.getAttribute("data-text-offline-caching") || "Caching…";
    refresh(kitUrl).then(
      function () {
        showCacheAge(root);
        root.setAttribute("data-offline-ready", "");
        root.dispatchEvent(new CustomEvent("govwallet:offline-ready", { bubbles: true }));
      },
      function () {
        showCacheAge(root);
      }
    );
  }

  function setUpAll() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-qr-verifier][data-offline-kit-url]"), setUp);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUpAll);
  else setUpAll();
})();
