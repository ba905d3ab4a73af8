"""The recipes of docs/gis.md "QGIS", run in QGIS itself (PyQGIS, headless).

Usage: qgis_recipes.py BASE_URL TOKEN KIT_GPKG OUT_DIR

Against a Vigil serving with tokens: an OGC API - Features layer of `coverage-gaps` through
a Basic authentication configuration (the token as the password), paged in small pages; the
same layer without authentication; the risk vector tiles with the same configuration,
rendered; the field kit's GeoPackage with its default style. Prints one JSON report;
renders PNGs into OUT_DIR. Run by tests/it/qgis.rs with the system Python (Debian's
python3-qgis).
"""

import json
import os
import sys
import tempfile


def main():
    base, token, kit, out_dir = sys.argv[1:5]
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    profile = tempfile.mkdtemp(prefix="vigil-qgis-")
    os.environ["QGIS_AUTH_DB_DIR_PATH"] = profile

    from qgis.core import (
        Qgis,
        QgsApplication,
        QgsAuthMethodConfig,
        QgsMapRendererSequentialJob,
        QgsMapSettings,
        QgsRectangle,
        QgsVectorLayer,
        QgsVectorTileLayer,
        QgsCoordinateReferenceSystem,
    )
    from qgis.PyQt.QtCore import QSize
    from qgis.PyQt.QtGui import QColor

    app = QgsApplication([], False, profile)
    app.initQgis()
    report = {"qgis": Qgis.QGIS_VERSION}

    # Settings → Options → Authentication → + : method Basic, user any, password the token.
    auth = QgsApplication.authManager()
    auth.setMasterPassword("vigil-test-master", True)
    cfg = QgsAuthMethodConfig()
    cfg.setMethod("Basic")
    cfg.setName("vigil")
    cfg.setConfig("username", "joc-analyst")
    cfg.setConfig("password", token)
    ok = auth.storeAuthenticationConfig(cfg)
    report["auth_stored"] = bool(ok[0] if isinstance(ok, tuple) else ok)
    authcfg = cfg.id()

    # Layer → Add Layer → Add WFS / OGC API - Features Layer (provider OAPIF).
    def gaps_layer(with_auth):
        uri = f"url='{base}' typename='coverage-gaps' pageSize='7'"
        if with_auth:
            uri += f" authcfg='{authcfg}'"
        return QgsVectorLayer(uri, "coverage-gaps", "OAPIF")

    gaps = gaps_layer(True)
    report["gaps_valid"] = gaps.isValid()
    ids = sorted(f["h3"] for f in gaps.getFeatures()) if gaps.isValid() else []
    report["gaps_features"] = len(ids)
    report["gaps_distinct"] = len(set(ids))
    report["gaps_fields"] = [f.name() for f in gaps.fields()] if gaps.isValid() else []
    extent = gaps.extent() if gaps.isValid() else None
    report["gaps_extent"] = (
        [extent.xMinimum(), extent.yMinimum(), extent.xMaximum(), extent.yMaximum()]
        if extent
        else None
    )
    report["gaps_valid_without_auth"] = gaps_layer(False).isValid()

    # Layer → Add Layer → Add Vector Tile Layer (generic connection, same authentication).
    tiles = QgsVectorTileLayer(
        f"type=xyz&url={base}/tiles/risk/{{z}}/{{x}}/{{y}}.mvt&zmin=0&zmax=9&authcfg={authcfg}",
        "risk tiles",
    )
    report["tiles_valid"] = tiles.isValid()

    def render(layers, name, rect):
        settings = QgsMapSettings()
        settings.setLayers(layers)
        settings.setBackgroundColor(QColor(255, 255, 255))
        settings.setOutputSize(QSize(600, 600))
        settings.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:3857"))
        settings.setExtent(rect)
        job = QgsMapRendererSequentialJob(settings)
        job.start()
        job.waitForFinished()
        image = job.renderedImage()
        image.save(os.path.join(out_dir, f"qgis-{name}.png"))
        drawn = 0
        for x in range(0, image.width(), 3):
            for y in range(0, image.height(), 3):
                if image.pixelColor(x, y) != QColor(255, 255, 255):
                    drawn += 1
        return drawn

    from qgis.core import QgsCoordinateTransform, QgsProject

    if extent:
        to_web = QgsCoordinateTransform(
            QgsCoordinateReferenceSystem("EPSG:4326"),
            QgsCoordinateReferenceSystem("EPSG:3857"),
            QgsProject.instance(),
        )
        rect = to_web.transformBoundingBox(extent)
        rect.scale(1.2)
        report["gaps_drawn_pixels"] = render([gaps], "gaps", rect)
        if tiles.isValid():
            report["tiles_drawn_pixels"] = render([tiles], "risk-tiles", rect)

    # The field kit: Layer → Add Vector Layer → the .gpkg; risk opens styled by tier.
    risk = QgsVectorLayer(f"{kit}|layername=risk", "risk", "ogr")
    report["kit_risk_valid"] = risk.isValid()
    report["kit_risk_features"] = risk.featureCount()
    renderer = risk.renderer()
    report["kit_risk_renderer"] = renderer.type() if renderer else None
    report["kit_risk_categories"] = (
        [c.value() for c in renderer.categories()] if renderer and hasattr(renderer, "categories") else []
    )
    report["kit_risk_classified_by"] = renderer.classAttribute() if hasattr(renderer, "classAttribute") else None
    if risk.isValid():
        to_web = QgsCoordinateTransform(
            risk.crs(), QgsCoordinateReferenceSystem("EPSG:3857"), QgsProject.instance()
        )
        report["kit_risk_drawn_pixels"] = render(
            [risk], "kit-risk", to_web.transformBoundingBox(risk.extent())
        )

    print(json.dumps(report), flush=True)
    # QGIS 3.22 may crash while tearing down its providers: the report is out, leave now.
    os._exit(0)


if __name__ == "__main__":
    main()
