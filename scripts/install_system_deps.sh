#!/usr/bin/env bash
# System packages open_s2s needs: espeak-ng + sox (+ flite) (synthetic corpora), libsndfile (audio headers),
# cmake + g++ (pip builds kenlm, the n-gram LM of CTC beam search, from source).
# Idempotent: does nothing when they are already installed.
set -euo pipefail
need=()
command -v espeak-ng >/dev/null || need+=(espeak-ng)
command -v sox >/dev/null || need+=(sox)
command -v flite >/dev/null || need+=(flite)  # speech commands voices; the TTS corpus (rms voice)
ldconfig -p 2>/dev/null | grep -q libsndfile || need+=(libsndfile1)
command -v cmake >/dev/null || need+=(cmake)
command -v g++ >/dev/null || need+=(g++)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing system packages: ${need[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
