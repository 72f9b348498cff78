/*
 * govwallet verifier page: read a license QR code with the camera (or from an uploaded
 * image), send its text to the verify API, and show the result.
 *
 * Contract (the page template provides this markup; no inline script is needed, the
 * Content-Security-Policy is script-src 'self'):
 *
 *   <script src="/static/vendor/jsQR.js" defer></script>   jsQR 1.4.0, built by `make static-vendor`
 *   <script src="/static/verifier.js" defer></script>
 *
 *   <section data-qr-verifier
 *            data-verify-url="/api/v1/verify"       required: where the QR text is POSTed
 *            data-verify-field="qr"                 optional: JSON field name (default "qr")
 *            data-csrf-token="..."                  optional: sent in the header below
 *            data-csrf-header="X-CSRF-Token"        optional (default "X-CSRF-Token")
 *            data-autostart                         optional: start the camera at once
 *            data-text-valid="有效 Valid" …>         optional labels, see TEXT below
 *            data-claim-labels='{"holder_name": "持证主体", …}'   optional: claim headings
 *     <video data-qr-video playsinline muted></video>
 *     <canvas data-qr-canvas hidden></canvas>
 *     <button type="button" data-qr-start>Scan</button>
 *     <button type="button" data-qr-stop>Stop</button>          (optional)
 *     <input type="file" accept="image/*" data-qr-file>          the upload fallback
 *     <p data-qr-status aria-live="polite"></p>
 *     <div data-qr-result></div>
 *   </section>
 *
 * Request: POST data-verify-url, JSON {"<field>": "<QR text exactly as read>"} with
 * credentials "same-origin" (the clerk's session cookie). The text is sent as read (an
 * offline GW1 payload holds spaces inside; docs/qr-format.md §2).
 *
 * Response: the verification result of docs/license-credential.md ({"valid", "checks",
 * "claims", "issuer", "trust_list", "status_list"}, plus "recognised_materials":
 * [{"code", "name_zh", "name_en", "service_items"}] — the clerk's materials the license
 * stands in for) or an RFC 9457 problem document ({"title", "detail"}). Material names
 * follow the section's lang (or <html lang>): "en…" shows name_en, anything else name_zh.
 * When the POST cannot reach the server (offline), the QR text is verified in the browser
 * by static/offline-verify.js (window.GovwalletOffline, if loaded and its lists cached); the
 * verdict then carries data-offline and says how old the trust list is.
 *
 * The result is rendered with textContent only (never innerHTML), and a
 * "govwallet:verified" event (detail: {text, status, body}) is dispatched on the section.
 *
 * Classes set for styling: on the section "qr-scanning" while the camera runs; in the
 * result, "verdict verdict-valid" / "verdict verdict-invalid" / "verdict verdict-error".
 */
(function () {
  "use strict";

  var TEXT = {
    valid: "Valid",
    invalid: "Not valid",
    error: "Could not verify",
    scanning: "Point the camera at the QR code…",
    reading: "Reading the image…",
    verifying: "Verifying…",
    noCamera: "No camera available: upload a photo of the QR code instead.",
    notFound: "No QR code was found in the image.",
    offline: "The verification service cannot be reached.",
    offlineVerified: "Verified offline, trust list {age} old",
    offlineMaterials: "Service-item materials are shown when verifying online.",
    reasons: "Reasons",
    claims: "Disclosed fields",
    issuer: "Issuer",
    materials: "Service-item materials",
    satisfied: "satisfied by this license",
    trustList: "Trust list",
    statusList: "Status list",
    age: "checked against a list {age} old",
    stale: "(stale)",
  };
  var SCAN_INTERVAL_MS = 120;
  var MAX_SIDE = 1280;

  function label(root, key) {
    var attribute = "data-text-" + key.replace(/[A-Z]/g, function (c) {
      return "-" + c.toLowerCase();
    });
    return root.getAttribute(attribute) || TEXT[key];
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function formatAge(seconds) {
    if (typeof seconds !== "number" || !isFinite(seconds)) return "?";
    if (seconds < 90) return Math.round(seconds) + " s";
    if (seconds < 5400) return Math.round(seconds / 60) + " min";
    if (seconds < 172800) return Math.round(seconds / 3600) + " h";
    return Math.round(seconds / 86400) + " d";
  }

  function formatValue(value) {
    if (value === null || value === undefined) return "";
    if (typeof value === "object") return JSON.stringify(value);
    return String(value);
  }

  /* Decode a QR code from RGBA pixels; null when there is none. */
  function decodePixels(imageData, thorough) {
    if (typeof window.jsQR !== "function") {
      throw new Error("jsQR is not loaded (wallet_api/static/vendor/jsQR.js)");
    }
    var code = window.jsQR(imageData.data, imageData.width, imageData.height, {
      inversionAttempts: thorough ? "attemptBoth" : "dontInvert",
    });
    return code ? code.data : null;
  }

  /* Draw a video frame, image or bitmap on the canvas, at most MAX_SIDE pixels a side. */
  function pixelsOf(canvas, source, width, height) {
    var scale = Math.min(1, MAX_SIDE / Math.max(width, height));
    canvas.width = Math.max(1, Math.round(width * scale));
    canvas.height = Math.max(1, Math.round(height * scale));
    var context = canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(source, 0, 0, canvas.width, canvas.height);
    return context.getImageData(0, 0, canvas.width, canvas.height);
  }

  function Verifier(root) {
    this.root = root;
    this.video = root.querySelector("[data-qr-video]");
    this.canvas = root.querySelector("[data-qr-canvas]") || document.createElement("canvas");
    this.status = root.querySelector("[data-qr-status]");
    this.result = root.querySelector("[data-qr-result]");
    this.stream = null;
    this.timer = null;
    this.busy = false;
  }

  Verifier.prototype.say = function (text) {
    if (this.status) this.status.textContent = text || "";
  };

  Verifier.prototype.start = function () {
    var self = this;
    if (self.stream) return Promise.resolve();
    var media = navigator.mediaDevices;
    if (!self.video || !media || typeof media.getUserMedia !== "function") {
      self.say(label(self.root, "noCamera"));
      return Promise.resolve();
    }
    return media
      .getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (stream) {
        self.stream = stream;
        self.video.srcObject = stream;
        self.video.setAttribute("playsinline", "");
        self.video.muted = true;
        self.root.classList.add("qr-scanning");
        self.say(label(self.root, "scanning"));
        return self.video.play().catch(function () {
          /* autoplay refused: frames still arrive once the user interacts */
        });
      })
      .then(function () {
        self.scheduleScan();
      })
      .catch(function () {
        self.stop();
        self.say(label(self.root, "noCamera"));
      });
  };

  Verifier.prototype.stop = function () {
    if (this.timer !== null) window.clearTimeout(this.timer);
    this.timer = null;
    if (this.stream) {
      this.stream.getTracks().forEach(function (track) {
        track.stop();
      });
    }
    this.stream = null;
    if (this.video) this.video.srcObject = null;
    this.root.classList.remove("qr-scanning");
  };

  Verifier.prototype.scheduleScan = function () {
    var self = this;
    self.timer = window.setTimeout(function () {
      self.scanFrame();
    }, SCAN_INTERVAL_MS);
  };

  Verifier.prototype.scanFrame = function () {
    if (!this.stream) return;
    var video = this.video;
    if (video.readyState >= 2 && video.videoWidth > 0) {
      var text = decodePixels(pixelsOf(this.canvas, video, video.videoWidth, video.videoHeight));
      if (text !== null) {
        this.stop();
        this.verify(text);
        return;
      }
    }
    this.scheduleScan();
  };

  Verifier.prototype.readFile = function (file) {
    var self = this;
    if (!file) return Promise.resolve();
    self.say(label(self.root, "reading"));
    return loadImage(file)
      .then(function (image) {
        var pixels = pixelsOf(self.canvas, image.source, image.width, image.height);
        image.release();
        var text = decodePixels(pixels, true);
        if (text === null) {
          self.say(label(self.root, "notFound"));
          return;
        }
        self.stop();
        return self.verify(text);
      })
      .catch(function () {
        self.say(label(self.root, "notFound"));
      });
  };

  function loadImage(file) {
    if (typeof window.createImageBitmap === "function") {
      return window.createImageBitmap(file).then(function (bitmap) {
        return {
          source: bitmap,
          width: bitmap.width,
          height: bitmap.height,
          release: function () {
            if (bitmap.close) bitmap.close();
          },
        };
      });
    }
    return new Promise(function (resolve, reject) {
      var url = URL.createObjectURL(file);
      var image = new Image();
      image.onload = function () {
        resolve({
          source: image,
          width: image.naturalWidth,
          height: image.naturalHeight,
          release: function () {
            URL.revokeObjectURL(url);
          },
        });
      };
      image.onerror = function () {
        URL.revokeObjectURL(url);
        reject(new Error("not an image"));
      };
      image.src = url;
    });
  }

  Verifier.prototype.verify = function (text) {
    var self = this;
    if (self.busy) return Promise.resolve();
    self.busy = true;
    self.say(label(self.root, "verifying"));
    var body = {};
    body[self.root.getAttribute("data-verify-field") || "qr"] = text;
    var headers = { "Content-Type": "application/json", Accept: "application/json" };
    var token = self.root.getAttribute("data-csrf-token");
    if (token) headers[self.root.getAttribute("data-csrf-header") || "X-CSRF-Token"] = token;
    return window
      .fetch(self.root.getAttribute("data-verify-url"), {
        method: "POST",
        headers: headers,
        body: JSON.stringify(body),
        credentials: "same-origin",
      })
      .then(function (response) {
        return response
          .json()
          .catch(function () {
            return { title: response.statusText };
          })
          .then(function (json) {
            return { status: response.status, body: json };
          });
      })
      .then(
        function (answer) {
          self.render(answer.status, answer.body);
          self.say("");
          self.root.dispatchEvent(
            new CustomEvent("govwallet:verified", {
              bubbles: true,
              detail: { text: text, status: answer.status, body: answer.body },
            })
          );
        },
        function () {
          /* the service cannot be reached: verify in the browser (offline-verify.js) */
          return self.verifyOffline(text);
        }
      )
      .then(function () {
        self.busy = false;
      });
  };

  /* Verify against the cached trust list and status lists (static/offline-verify.js). */
  Verifier.prototype.verifyOffline = function (text) {
    var self = this;
    var offline = window.GovwalletOffline;
    if (!offline || !offline.cached()) {
      self.renderVerdict("error", label(self.root, "offline"));
      self.say("");
      return Promise.resolve();
    }
    return offline.verifyQr(text).then(
      function (body) {
        self.render(200, body);
        self.say("");
        self.root.dispatchEvent(
          new CustomEvent("govwallet:verified", {
            bubbles: true,
            detail: { text: text, status: 200, body: body, offline: true },
          })
        );
      },
      function (error) {
        self.renderVerdict("error", (error && error.message) || label(self.root, "offline"));
        self.say("");
      }
    );
  };

  Verifier.prototype.renderVerdict = function (kind, detail) {
    if (!this.result) return null;
    this.result.textContent = "";
    var verdict = element("div", "verdict verdict-" + kind);
    verdict.setAttribute("role", "status");
    verdict.appendChild(element("strong", "verdict-word", label(this.root, kind)));
    if (detail) verdict.appendChild(element("p", "verdict-detail", detail));
    this.result.appendChild(verdict);
    return verdict;
  };

  Verifier.prototype.render = function (status, body) {
    var root = this.root;
    body = body || {};
    if (status >= 400 || typeof body.valid !== "boolean") {
      this.renderVerdict("error", body.detail || body.title || "HTTP " + status);
      return;
    }
    var verdict = this.renderVerdict(body.valid ? "valid" : "invalid");
    if (!verdict) return;
    if (body.offline) {
      var trustAge = body.trust_list ? body.trust_list.age_seconds : body.offline.age_seconds;
      verdict.setAttribute("data-offline", "");
      verdict.appendChild(
        element("p", "verdict-offline", label(root, "offlineVerified").replace("{age}", formatAge(trustAge)))
      );
    }
    var result = this.result;

    var reasons = [];
    var checks = body.checks || {};
    Object.keys(checks).forEach(function (name) {
      var check = checks[name] || {};
      if (check.outcome === "failed") reasons.push(check.reason || name);
    });
    if (reasons.length) {
      result.appendChild(element("h3", null, label(root, "reasons")));
      var list = element("ul", "verdict-reasons");
      reasons.forEach(function (reason) {
        list.appendChild(element("li", null, reason));
      });
      result.appendChild(list);
    }

    if (body.issuer) {
      result.appendChild(element("h3", null, label(root, "issuer")));
      var issuer = body.issuer.name || body.issuer.iss || "";
      if (body.issuer.credit_code) issuer += " (" + body.issuer.credit_code + ")";
      result.appendChild(element("p", "verdict-issuer", issuer));
    }

    var claims = body.claims || {};
    var claimLabels = {};
    try {
      claimLabels = JSON.parse(root.getAttribute("data-claim-labels") || "{}") || {};
    } catch (error) {
      claimLabels = {};
    }
    var names = Object.keys(claims);
    if (names.length) {
      result.appendChild(element("h3", null, label(root, "claims")));
      var table = element("table", "verdict-claims");
      names.forEach(function (name) {
        var row = element("tr");
        var heading = element("th", null, claimLabels[name] || name);
        heading.setAttribute("data-claim", name);
        row.appendChild(heading);
        row.appendChild(element("td", null, formatValue(claims[name])));
        table.appendChild(row);
      });
      result.appendChild(table);
    }

    if (body.offline && body.valid) {
      result.appendChild(element("p", "verdict-freshness", label(root, "offlineMaterials")));
    }
    var recognised = body.recognised_materials;
    if (Array.isArray(recognised) && recognised.length) {
      var english = (root.closest("[lang]") || document.documentElement).lang.indexOf("en") === 0;
      result.appendChild(element("h3", null, label(root, "materials")));
      var materials = element("ul", "verdict-materials");
      recognised.forEach(function (material) {
        var name = (english ? material.name_en : material.name_zh) || material.code || "";
        var items = (material.service_items || []).join(", ");
        var text = name + ": " + label(root, "satisfied") + (items ? " (" + items + ")" : "");
        materials.appendChild(element("li", "material-ok", text));
      });
      result.appendChild(materials);
    }

    [
      ["trust_list", "trustList"],
      ["status_list", "statusList"],
    ].forEach(function (pair) {
      var list = body[pair[0]];
      if (!list || typeof list.age_seconds !== "number") return;
      var text = label(root, pair[1]) + ": " + label(root, "age").replace("{age}", formatAge(list.age_seconds));
      if (list.stale || list.expired) text += " " + label(root, "stale");
      result.appendChild(element("p", "verdict-freshness", text));
    });
  };

  function attach(root) {
    var verifier = new Verifier(root);
    var start = root.querySelector("[data-qr-start]");
    var stop = root.querySelector("[data-qr-stop]");
    var file = root.querySelector("[data-qr-file]");
    var camera = !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
    if (start) start.hidden = !camera;
    if (stop) stop.hidden = !camera;
    if (start) start.addEventListener("click", function () {
      verifier.start();
    });
    if (stop) stop.addEventListener("click", function () {
      verifier.stop();
      verifier.say("");
    });
    if (file) file.addEventListener("change", function () {
      verifier.readFile(file.files && file.files[0]).then(function () {
        file.value = "";
      });
    });
    if (root.hasAttribute("data-autostart")) verifier.start();
    return verifier;
  }

  function attachAll() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-qr-verifier]"), attach);
  }

  window.GovwalletVerifier = { attach: attach, decodePixels: decodePixels, formatAge: formatAge };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", attachAll);
  } else {
    attachAll();
  }
})();
