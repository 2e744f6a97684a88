// The reception page of the vitale-cred reader service. Plain JavaScript, no build.
//
// Three ways in: the scanner ("douchette") types the QR text and Enter into the
// field that always has focus; the camera sends frames to /v1/verify/image a few
// times per second; NFC taps arrive as server-sent events from /v1/events.
// Privacy: a verdict lives only in the page's DOM; it is never stored (no storage,
// no cookies, no console), and it is wiped by the next patient, the "next patient"
// button or Escape, and after CLEAR_AFTER_MS.
"use strict";

(() => {
  const CLEAR_AFTER_MS = 120000;
  const FRAME_EVERY_MS = 250;
  const HEALTH_EVERY_MS = 30000;
  const TOKEN_KEY = "vitale-reader-token"; // the API token, never patient data

  const $ = (id) => document.getElementById(id);
  const scan = $("scan");
  const verdictBox = $("verdict");
  const cameraButton = $("camera");
  const cameraState = $("camera-state");
  const video = $("video");
  const canvas = $("frame");

  // --- API token: given once as #token=..., kept for the tab only --------------------
  if (location.hash.startsWith("#token=")) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(location.hash.slice(7)));
    history.replaceState(null, "", location.pathname + location.search);
  }
  function headers(extra) {
    const out = Object.assign({}, extra || {});
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) out["Authorization"] = "Bearer " + token;
    return out;
  }

  // --- plain-language reasons (French, English) --------------------------------------
  const REASONS = [
    ["presentation.replayed", "Ce QR code a déjà été utilisé : demandez au patient d'en afficher un nouveau.", "This QR code was already used: ask the patient to show a new one."],
    ["presentation.expired", "QR code expiré : demandez au patient de le rafraîchir.", "The QR code has expired: ask the patient to refresh it."],
    ["presentation.not_yet_valid", "QR code daté dans le futur : vérifiez l'heure du poste et du téléphone.", "The QR code is dated in the future: check the clocks."],
    ["presentation.lifetime_too_long", "QR code valable trop longtemps : refusé.", "The QR code's lifetime is too long: refused."],
    ["presentation.audience_mismatch", "QR code destiné à un autre professionnel.", "This QR code was made for another reader."],
    ["presentation.replay_cache_full", "Service saturé : réessayez dans un instant.", "The service is saturated: try again shortly."],
    ["presentation.transcript_mismatch", "Lecture NFC invalide : refaites la lecture.", "Invalid NFC exchange: tap again."],
    ["binding", "Signature invalide : QR code falsifié ou modifié.", "Invalid signature: the QR code is forged or altered."],
    ["cose.bad_signature", "Signature invalide : QR code falsifié ou modifié.", "Invalid signature: the QR code is forged or altered."],
    ["trust.list_expired", "Liste de confiance périmée : vérification impossible (voir l'état du service).", "The trust list is stale: nothing can be verified (see the service status)."],
    ["trust.list_too_old", "Liste de confiance périmée : vérification impossible (voir l'état du service).", "The trust list is stale: nothing can be verified (see the service status)."],
    ["trust.unknown_issuer", "Émetteur inconnu : cette carte n'est pas reconnue.", "Unknown issuer: this card is not recognised."],
    ["trust.key_withdrawn", "Clé de l'émetteur retirée : carte refusée.", "The issuer's key was withdrawn: card refused."],
    ["trust", "Émetteur non reconnu : carte refusée.", "Issuer not trusted: card refused."],
    ["validity.expired", "Carte expirée.", "The card has expired."],
    ["validity.not_yet_valid", "Carte pas encore valide.", "The card is not valid yet."],
    ["validity.clock_rollback", "L'horloge du poste a reculé : appelez le support.", "This computer's clock went back: call support."],
    ["status.revoked", "Carte révoquée (opposition).", "The card is revoked."],
    ["status.suspended", "Carte suspendue.", "The card is suspended."],
    ["status", "Statut de la carte inconnu (liste de révocation indisponible).", "The card's status is unknown (revocation list unavailable)."],
    ["delegation", "Délégation non acceptée ici.", "Delegation is not accepted here."],
    ["nfc", "Lecture NFC interrompue : refaites la lecture.", "The NFC read failed: tap again."],
    ["session", "Lecture NFC interrompue : refaites la lecture.", "The NFC read failed: tap again."],
    ["replay.store_error", "Service indisponible (mémoire anti-rejeu) : appelez le support.", "Service unavailable (replay store): call support."],
    ["state", "Service indisponible (état de confiance) : appelez le support.", "Service unavailable (trust state): call support."],
    ["card", "Données de la carte invalides.", "The card data are invalid."],
    ["api", "Le service a refusé la demande.", "The service refused the request."],
    ["", "QR code illisible, ou qui n'est pas une carte Vitale.", "Unreadable QR code, or not a health-insurance card."],
  ];
  function reasonFor(code) {
    for (const [prefix, fr, en] of REASONS) {
      if (code === prefix || code.startsWith(prefix + ".") || prefix === "" || code.startsWith(prefix)) {
        if (prefix === "" || code === prefix || code.startsWith(prefix)) return [fr, en];
      }
    }
    return REASONS[REASONS.length - 1].slice(1);
  }

  const QUALITE = {
    assure: ["Assuré(e)", "insured"],
    conjoint: ["Conjoint(e)", "spouse"],
    enfant: ["Enfant", "child"],
    autre: ["Autre ayant droit", "other dependant"],
  };

  // --- DOM helpers (text only: nothing from a verdict is parsed as HTML) -------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }
  function bi(fr, en) {
    return el("span", {}, fr, " ", el("span", { class: "en", lang: "en" }, "/ " + en));
  }
  function today() {
    const d = new Date();
    const pad = (n) => String(n).padStart(2, "0");
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate());
  }
  function period(p) {
    const now = today();
    const current = p.start <= now && (p.end === null || now <= p.end);
    const text = "du " + p.start + " " + (p.end ? "au " + p.end : "sans fin / open-ended");
    return el("span", { class: current ? "current" : p.end && p.end < now ? "past" : "" },
      text, current ? " ✔ en cours / current" : "");
  }
  function periods(list, render) {
    if (!list || list.length === 0) return bi("aucun", "none");
    return el("ul", { class: "periods" }, ...list.map((p) => el("li", {}, render ? render(p) : period(p))));
  }
  function formatNir(nir) {
    return nir.length === 15
      ? [nir[0], nir.slice(1, 3), nir.slice(3, 5), nir.slice(5, 7), nir.slice(7, 10), nir.slice(10, 13), nir.slice(13)].join(" ")
      : nir;
  }

  // --- showing and wiping a verdict --------------------------------------------------
  let clearTimer = null;
  let lastDigest = null;

  function wipe() {
    verdictBox.replaceChildren(el("p", { class: "idle" }, "En attente d'un patient ",
      el("span", { class: "en", lang: "en" }, "/ Waiting for a patient")));
    verdictBox.dataset.state = "idle";
    if (clearTimer !== null) clearTimeout(clearTimer);
    clearTimer = null;
  }

  function nextPatient() {
    wipe();
    lastDigest = null;
    scan.value = "";
    scan.focus();
  }

  function showBusy() {
    verdictBox.replaceChildren(el("p", { class: "idle" }, "Vérification… ",
      el("span", { class: "en", lang: "en" }, "/ Verifying…")));
    verdictBox.dataset.state = "busy";
  }

  function show(verdict, channel) {
    wipe();
    verdictBox.replaceChildren();
    const when = new Date().toLocaleTimeString("fr-FR");
    const via = { qr: "douchette / scanner", image: "caméra / camera", nfc: "NFC" }[channel] || channel;
    if (verdict.ok) {
      const p = verdict.presentation;
      const b = p.beneficiary;
      const q = QUALITE[b.qualite] || [b.qualite, b.qualite];
      const rows = [
        [bi("Bénéficiaire", "Beneficiary"), q[0] + " / " + q[1] + " — n° " + p.beneficiary_index +
          ", né(e) le / born " + b.birth_date + (b.birth_rank !== 1 ? ", rang " + b.birth_rank : "")],
        [bi("NIR de l'assuré", "Insured's NIR"), formatNir(p.insured_nir)],
        [bi("Organisme", "Fund"), p.organisme],
        [bi("Droits AMO", "Basic cover"), periods(b.amo)],
      ];
      if (b.exonerations.length) {
        rows.push([bi("Exonérations", "Exemptions"), periods(b.exonerations, (e) => el("span", {}, e.code + " ", period(e)))]);
      }
      if (b.css) rows.push([bi("Complémentaire santé solidaire", "CSS"), period(b.css)]);
      rows.push([bi("Complémentaire (AMC)", "Top-up cover"), b.amc
        ? el("span", {}, "organisme " + b.amc.organisation + ", contrat " + b.amc.contract + " — ", period(b.amc))
        : bi("aucune", "none")]);
      if (p.ins) {
        const kind = p.ins.oid.endsWith(".8") ? "NIR" : "NIA";
        rows.push([bi("INS", "national health ID"), formatNir(p.ins.matricule) + " (" + kind + ") — " + p.ins.birth_name + " " +
          p.ins.birth_given_names + ", " + p.ins.sex + ", " + p.ins.birth_date + ", " + p.ins.birth_place]);
      }
      if (p.delegation) {
        rows.push([bi("Délégation", "Delegation"), p.delegation.delegator + " → " + p.delegation.delegate +
          (p.delegation.limits ? " (" + p.delegation.limits + ")" : "")]);
      }
      if (p.status === "undetermined") {
        rows.push([bi("Statut", "Status"), bi("indéterminé", "undetermined")]);
      }
      verdictBox.append(
        el("p", { class: "banner" }, "✔ Droits vérifiés ", el("span", { class: "en", lang: "en" }, "/ Coverage verified")),
        el("p", { class: "who", id: "who" }, b.given_names.join(" ") + " " + b.family_name),
        el("dl", {}, ...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])),
        el("p", { class: "meta" }, via + " — " + when),
      );
      verdictBox.dataset.state = "ok";
    } else {
      const [fr, en] = reasonFor(verdict.code || "");
      verdictBox.append(
        el("p", { class: "banner" }, "✘ Refusé ", el("span", { class: "en", lang: "en" }, "/ Refused")),
        el("p", { class: "reason", id: "reason" }, fr),
        el("p", { class: "reason en", lang: "en" }, en),
        el("p", { class: "code", id: "code" }, verdict.code || ""),
        el("p", { class: "meta" }, via + " — " + when),
      );
      verdictBox.dataset.state = "refused";
    }
    clearTimer = setTimeout(wipe, CLEAR_AFTER_MS);
  }

  function showError(text) {
    show({ ok: false, code: "api", message: text, presentation: null }, "qr");
  }

  // --- scanner: the text field that always has focus ----------------------------------
  function keepFocus() {
    if (document.activeElement !== scan) scan.focus({ preventScroll: true });
  }
  scan.addEventListener("blur", () => setTimeout(keepFocus, 0));
  document.addEventListener("click", () => setTimeout(keepFocus, 0));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      nextPatient();
    }
  });
  scan.addEventListener("keydown", async (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    const text = scan.value.trim();
    scan.value = "";
    if (!text) return;
    showBusy();
    try {
      const response = await fetch("/v1/verify/qr", {
        method: "POST",
        headers: headers({ "Content-Type": "application/json" }),
        body: JSON.stringify({ qr: text }),
        cache: "no-store",
      });
      if (!response.ok) {
        showError("HTTP " + response.status);
        return;
      }
      show(await response.json(), "qr");
    } catch (error) {
      showError("network");
    }
  });

  // --- camera: frames to the service until a code is found ----------------------------
  let stream = null;
  let timer = null;
  let inFlight = false;

  async function sendFrame() {
    if (inFlight || !stream || video.readyState < 2 || !video.videoWidth) return;
    inFlight = true;
    try {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      canvas.getContext("2d").drawImage(video, 0, 0);
      const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.92));
      if (!blob) return;
      const extra = { "Content-Type": "image/jpeg" };
      if (lastDigest) extra["X-Vitale-Ignore"] = lastDigest;
      const response = await fetch("/v1/verify/image", {
        method: "POST", headers: headers(extra), body: blob, cache: "no-store",
      });
      if (response.status === 200) {
        lastDigest = response.headers.get("X-Vitale-Qr-Digest");
        show(await response.json(), "image");
      } else if (response.status !== 204) {
        cameraState.textContent = "Erreur caméra / camera error: HTTP " + response.status;
      }
    } catch (error) {
      cameraState.textContent = "Service injoignable / service unreachable";
    } finally {
      inFlight = false;
    }
  }

  async function startCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      cameraState.textContent = "Pas de caméra (page non sécurisée ?) / No camera (insecure page?)";
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: "environment" },
        audio: false,
      });
    } catch (error) {
      cameraState.textContent = "Caméra refusée ou absente / Camera refused or missing";
      return;
    }
    video.srcObject = stream;
    video.hidden = false;
    await video.play().catch(() => undefined);
    cameraButton.setAttribute("aria-pressed", "true");
    cameraState.textContent = "Caméra active : présentez le QR code / Camera on: show the QR code";
    timer = setInterval(sendFrame, FRAME_EVERY_MS);
  }

  function stopCamera() {
    if (timer !== null) clearInterval(timer);
    timer = null;
    if (stream) stream.getTracks().forEach((track) => track.stop());
    stream = null;
    video.srcObject = null;
    video.hidden = true;
    cameraButton.setAttribute("aria-pressed", "false");
    cameraState.textContent = "";
  }

  cameraButton.addEventListener("click", () => (stream ? stopCamera() : startCamera()));
  $("next").addEventListener("click", nextPatient);

  // --- NFC: server-sent events (read with fetch, so the token can be sent) ------------
  function handleEvent(block) {
    let kind = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) kind = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).trim());
    }
    if (kind !== "nfc" || data.length === 0) return;
    try {
      const event = JSON.parse(data.join("\n"));
      show(event.verdict, "nfc");
    } catch (error) {
      /* a malformed event is ignored */
    }
  }

  async function followEvents() {
    for (;;) {
      try {
        const response = await fetch("/v1/events", { headers: headers(), cache: "no-store" });
        if (response.ok && response.body) {
          const reader = response.body.getReader();
          const decoder = new TextDecoder();
          let buffer = "";
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buffer += decoder.decode(value, { stream: true });
            let end;
            while ((end = buffer.indexOf("\n\n")) >= 0) {
              handleEvent(buffer.slice(0, end));
              buffer = buffer.slice(end + 2);
            }
          }
        }
      } catch (error) {
        /* reconnect below */
      }
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }

  // --- service status -------------------------------------------------------------------
  const SERVICE_TEXT = {
    ok: ["Service opérationnel", "Service OK"],
    degraded: ["Service dégradé", "Service degraded"],
    failing: ["Service en panne : aucune vérification possible", "Service failing: nothing can be verified"],
  };
  async function health() {
    const box = $("service");
    try {
      const response = await fetch("/v1/health", { headers: headers(), cache: "no-store" });
      const report = await response.json();
      const [fr, en] = SERVICE_TEXT[report.status] || ["?", "?"];
      box.dataset.status = report.status;
      box.textContent = fr + " / " + en;
      box.title = (report.reasons || []).join("\n");
    } catch (error) {
      box.dataset.status = "unknown";
      box.textContent = "Service injoignable / Service unreachable";
    }
  }

  window.addEventListener("pagehide", () => { wipe(); stopCamera(); });
  scan.focus();
  health();
  setInterval(health, HEALTH_EVERY_MS);
  followEvents();
  if (new URLSearchParams(location.search).get("camera") === "1") startCamera();
})();
