"""The slide's geometry, shared by every format and check: a 1280×720 px page (960×540 pt in the PDF), its
header and footer bands and its side margin, as the house CSS draws them (templates/css/house.css)."""

SLIDE_WIDTH_PX, SLIDE_HEIGHT_PX = 1280, 720
#: the header band (issuer) and the footer band (title, date, page number)
HEADER_PX, FOOTER_PX = 44, 34
#: the body's left and right margin
MARGIN_PX = 48
#: CSS pixels to PDF points (96 px = 72 pt)
PT_PER_PX = 0.75
