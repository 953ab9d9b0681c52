"""``--mode=export``: a SavedModel with raw-input signatures (and TFLite where the family has one).

The export directory is checked before anything is built (``export.saved_model``: never
into a directory holding other files unless ``--overwrite``), and carries its assets and
manifest (``export.assets``). With ``--export_tflite=FILE`` the TFLite model goes into the
export as ``model.tflite`` and to ``FILE``.
"""

from __future__ import annotations

import os
import shutil

from open_s2s import quiet
from open_s2s.modes.building import build_model, checkpoint_for_inference, restore_for_inference

TFLITE_NAME = "model.tflite"


def export(args, logdir, model_cls, params) -> int:
    from open_s2s.export.assets import export_assets  # noqa: PLC0415
    from open_s2s.export.saved_model import check_export_dir, export_saved_model  # noqa: PLC0415

    export_dir = args.export_dir or os.path.join(logdir, "export")
    check_export_dir(export_dir, args.overwrite)  # before the checkpoint is read
    checkpoint = checkpoint_for_inference(args, logdir)
    data_spec, serving_params = params["data_layer"].spec_from_params(params["data_layer_params"])
    model = build_model(model_cls, params, data_spec)
    restore_for_inference(model, checkpoint)
    assets, manifest = export_assets(model, model_cls, params, serving_params, checkpoint)
    write_files = None
    if args.export_tflite:
        from open_s2s.export.tflite import export_tflite, float32_model  # noqa: PLC0415

        model32 = float32_model(lambda: build_model(model_cls, params, data_spec), model)
        manifest["tflite"] = TFLITE_NAME

        def write_files(directory: str) -> None:
            export_tflite(model32, serving_params, os.path.join(directory, TFLITE_NAME))

    with quiet.filtered_stderr():  # the converters' absl and C++ notices
        export_saved_model(
            model,
            serving_params,
            export_dir,
            overwrite=args.overwrite,
            assets=assets,
            manifest=manifest,
            write_files=write_files,
        )
    print(f"exported SavedModel to {export_dir}", flush=True)
    if args.export_tflite:
        inside = os.path.join(export_dir, TFLITE_NAME)
        if os.path.abspath(args.export_tflite) != os.path.abspath(inside):
            os.makedirs(os.path.dirname(os.path.abspath(args.export_tflite)), exist_ok=True)
            shutil.copyfile(inside, args.export_tflite + ".tmp")
            os.replace(args.export_tflite + ".tmp", args.export_tflite)
            inside += f" and {args.export_tflite}"
        print(f"exported TFLite model (built-in ops) to {inside}", flush=True)
    return 0
