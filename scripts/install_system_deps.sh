#!/usr/bin/env bash
# System packages open_s2s needs: espeak-ng + sox (+ flite) (synthetic corpora), libsndfile (audio headers),
# cmake + g++ (pip builds kenlm, the n-gram LM of CTC beam search, and Horovod from source; patch on TF >= 2.18),
# apertium + apertium-eng-spa (translates the synthetic English-Spanish corpus, open_s2s.data.synth_translation).
# Idempotent: does nothing when they are already installed.
set -euo pipefail
need=()
command -v espeak-ng >/dev/null || need+=(espeak-ng)
command -v sox >/dev/null || need+=(sox)
command -v flite >/dev/null || need+=(flite)  # speech commands voices; the TTS corpus (rms voice)
# grep without -q reads all its input: with -q it can exit first, and under pipefail the writer's
# SIGPIPE (status 141) would count as "missing"
ldconfig -p 2>/dev/null | grep libsndfile >/dev/null || need+=(libsndfile1)
command -v cmake >/dev/null || need+=(cmake)
command -v g++ >/dev/null || need+=(g++)
command -v patch >/dev/null || need+=(patch)  # Horovod 0.28.1 on TensorFlow >= 2.18 (scripts/install_horovod.sh)
command -v apertium >/dev/null || need+=(apertium)
# the language pair is data, not a command: ask apertium which directions it has
{ command -v apertium >/dev/null && apertium -l 2>/dev/null | grep -w eng-spa >/dev/null; } || need+=(apertium-eng-spa)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing system packages: ${need[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
