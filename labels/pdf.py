"""Warehouse paperwork drawn with ReportLab: packing slips (one page per order: ship-to, lines and a
Code128 barcode of the order number) and pick lists (one table of SKU, location and units). Pure drawing
from plain data: what goes on the page is decided in labels.services.paperwork."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

BAR_WIDTH = 1.2  # points per Code128 module: scans from a laser printer
BAR_HEIGHT = 14 * mm
LINE = 5.5 * mm


@dataclass(frozen=True)
class SlipLine:
    sku: str
    title: str
    quantity: int


@dataclass(frozen=True)
class PackingSlip:
    merchant_name: str
    order_number: str
    placed_on: str
    ship_to: Sequence[str]  # address lines, in order
    lines: Sequence[SlipLine]


@dataclass(frozen=True)
class PickRow:
    location: str
    sku: str
    title: str
    quantity: int


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def packing_slips_pdf(slips: Sequence[PackingSlip]) -> bytes:
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, pageCompression=0)
    width, height = A4
    for slip in slips:
        y = height - 20 * mm
        canvas.setFont("Helvetica-Bold", 16)
        canvas.drawString(20 * mm, y, f"Packing slip: order {slip.order_number}")
        canvas.setFont("Helvetica", 10)
        canvas.drawString(20 * mm, y - LINE, f"{slip.merchant_name} · placed {slip.placed_on}")
        barcode = Code128(slip.order_number, barWidth=BAR_WIDTH, barHeight=BAR_HEIGHT, humanReadable=False)
        barcode.drawOn(canvas, width - 20 * mm - barcode.width, y - LINE - 2 * mm)
        y -= 4 * LINE
        canvas.setFont("Helvetica-Bold", 11)
        canvas.drawString(20 * mm, y, "Ship to")
        canvas.setFont("Helvetica", 10)
        for text in slip.ship_to:
            y -= LINE
            canvas.drawString(20 * mm, y, _clip(text, 90))
        y -= 2 * LINE
        canvas.setFont("Helvetica-Bold", 10)
        canvas.drawString(20 * mm, y, "SKU")
        canvas.drawString(70 * mm, y, "Item")
        canvas.drawRightString(width - 20 * mm, y, "Qty")
        canvas.line(20 * mm, y - 1.5 * mm, width - 20 * mm, y - 1.5 * mm)
        canvas.setFont("Helvetica", 10)
        for line in slip.lines:
            y -= LINE
            if y < 20 * mm:
                canvas.showPage()
                canvas.setFont("Helvetica", 10)
                y = height - 20 * mm
            canvas.drawString(20 * mm, y, _clip(line.sku, 28))
            canvas.drawString(70 * mm, y, _clip(line.title, 60))
            canvas.drawRightString(width - 20 * mm, y, str(line.quantity))
        canvas.showPage()
    canvas.save()
    return out.getvalue()


def pick_list_pdf(rows: Sequence[PickRow], *, title: str) -> bytes:
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, pageCompression=0)
    width, height = A4

    def header(y: float) -> float:
        canvas.setFont("Helvetica-Bold", 10)
        canvas.drawString(20 * mm, y, "Location")
        canvas.drawString(50 * mm, y, "SKU")
        canvas.drawString(95 * mm, y, "Item")
        canvas.drawRightString(width - 20 * mm, y, "Units")
        canvas.line(20 * mm, y - 1.5 * mm, width - 20 * mm, y - 1.5 * mm)
        canvas.setFont("Helvetica", 10)
        return y

    y = height - 20 * mm
    canvas.setFont("Helvetica-Bold", 16)
    canvas.drawString(20 * mm, y, title)
    y = header(y - 2 * LINE)
    for row in rows:
        y -= LINE
        if y < 20 * mm:
            canvas.showPage()
            y = header(height - 20 * mm) - LINE
        canvas.drawString(20 * mm, y, _clip(row.location, 14))
        canvas.drawString(50 * mm, y, _clip(row.sku, 24))
        canvas.drawString(95 * mm, y, _clip(row.title, 50))
        canvas.drawRightString(width - 20 * mm, y, str(row.quantity))
    canvas.showPage()
    canvas.save()
    return out.getvalue()
