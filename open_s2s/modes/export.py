"""``--mode=export``: a SavedModel with raw-input signatures (and TFLite where the family has one)."""

from __future__ import annotations

import os

from open_s2s.modes.building import build_model, checkpoint_for_inference, restore_for_inference


def export(args, logdir, model_cls, params) -> int:
    from open_s2s.export import export_saved_model  # noqa: PLC0415

    checkpoint = checkpoint_for_inference(args, logdir)
    data_spec, serving_params = params["data_layer"].spec_from_params(params["data_layer_params"])
    model = build_model(model_cls, params, data_spec)
    restore_for_inference(model, checkpoint)
    export_dir = args.export_dir or os.path.join(logdir, "export")
    export_saved_model(model, serving_params, export_dir)
    print(f"exported SavedModel to {export_dir}", flush=True)
    if args.export_tflite:
        from open_s2s.export.tflite import export_tflite, float32_model  # noqa: PLC0415

        model32 = float32_model(lambda: build_model(model_cls, params, data_spec), model)
        export_tflite(model32, serving_params, args.export_tflite)
        print(f"exported TFLite model (built-in ops) to {args.export_tflite}", flush=True)
    return 0
