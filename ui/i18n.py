"""Interface texts of the supplier questionnaire in English, Spanish and Simplified Chinese.

Staff pages stay in English; only what a partner sees through its link is translated. Question texts live in the
database (CriterionText); this module holds the labels around them.
"""

LANGUAGES = ("en", "es", "zh")

# Shown for an unknown, expired or revoked link, before the partner's language is known: all three languages.
INVALID_LINK = (
    "This link is not valid. Ask your contact for a new link.  \n"
    "Este enlace no es válido. Pida un enlace nuevo a su contacto.  \n"
    "此链接无效。请向您的联系人索取新链接。"
)

_TEXTS: dict[str, dict[str, str]] = {
    "title": {
        "en": "Supply chain security questionnaire",
        "es": "Cuestionario de seguridad de la cadena de suministro",
        "zh": "供应链安全问卷",
    },
    "for_partner": {"en": "For **{partner}**", "es": "Para **{partner}**", "zh": "填写方：**{partner}**"},
    "cycle_due": {
        "en": "{cycle} · due {due}",
        "es": "{cycle} · fecha límite {due}",
        "zh": "{cycle} · 截止日期 {due}",
    },
    "language": {"en": "Language", "es": "Idioma", "zh": "语言"},
    "intro": {
        "en": "Answer each question with yes, partial, no or not applicable. A comment is required for partial and "
              "no, and for not applicable on a required question. Last year's answers are filled in: confirm or "
              "change them. Save a draft at any time and come back later with the same link; submit when you are "
              "done.",
        "es": "Responda cada pregunta con sí, parcial, no o no aplica. El comentario es obligatorio para parcial y "
              "no, y para no aplica en una pregunta obligatoria. Las respuestas del año pasado ya están completadas: "
              "confírmelas o cámbielas. Guarde un borrador cuando quiera y vuelva más tarde con el mismo enlace; "
              "envíe el cuestionario cuando termine.",
        "zh": "请对每个问题回答“是”“部分”“否”或“不适用”。回答“部分”或“否”时，以及对必须项回答“不适用”时，必须填写"
              "说明。去年的答案已预先填好，请确认或修改。您可以随时保存草稿，稍后用同一链接继续填写；完成后请提交。",
    },
    "progress": {
        "en": "{answered} of {total} questions answered",
        "es": "{answered} de {total} preguntas respondidas",
        "zh": "已回答 {answered} / {total} 个问题",
    },
    "must": {"en": "Required", "es": "Obligatorio", "zh": "必须"},
    "should": {"en": "Recommended", "es": "Recomendado", "zh": "建议"},
    "answer": {"en": "Answer", "es": "Respuesta", "zh": "回答"},
    "yes": {"en": "Yes", "es": "Sí", "zh": "是"},
    "partial": {"en": "Partial", "es": "Parcial", "zh": "部分"},
    "no": {"en": "No", "es": "No", "zh": "否"},
    "na": {"en": "Not applicable", "es": "No aplica", "zh": "不适用"},
    "not_answered": {"en": "Not answered", "es": "Sin responder", "zh": "未回答"},
    "comment": {"en": "Comment", "es": "Comentario", "zh": "说明"},
    "comment_help": {
        "en": "Required for partial and no: what is missing, and what you are doing about it. Required for not "
              "applicable on a required question: why it does not apply.",
        "es": "Obligatorio para parcial y no: qué falta y qué está haciendo al respecto. Obligatorio para no aplica "
              "en una pregunta obligatoria: por qué no aplica.",
        "zh": "回答“部分”或“否”时必填：缺少什么，以及您正在采取的措施。对必须项回答“不适用”时必填：为什么不适用。",
    },
    "last_year": {"en": "Last year: {value}", "es": "Año pasado: {value}", "zh": "去年：{value}"},
    "team_comment": {
        "en": "Comment from the review team: {comment}",
        "es": "Comentario del equipo de revisión: {comment}",
        "zh": "审核团队的意见：{comment}",
    },
    "evidence": {"en": "Evidence (optional)", "es": "Evidencia (opcional)", "zh": "证明文件（可选）"},
    "evidence_help": {
        "en": "PDF, image, Word, Excel or text file, at most 10 MB.",
        "es": "PDF, imagen, Word, Excel o texto, máximo 10 MB.",
        "zh": "PDF、图片、Word、Excel 或文本文件，最大 10 MB。",
    },
    "attached": {"en": "Attached: {files}", "es": "Adjuntos: {files}", "zh": "已附文件：{files}"},
    "section": {"en": "Section", "es": "Sección", "zh": "部分"},
    "section_label": {
        "en": "{number}. {name} · {done}/{total}",
        "es": "{number}. {name} · {done}/{total}",
        "zh": "{number}. {name} · {done}/{total}",
    },
    "section_help": {
        "en": "Save before you change section: answers not saved are lost.",
        "es": "Guarde antes de cambiar de sección: las respuestas no guardadas se pierden.",
        "zh": "切换部分前请先保存：未保存的回答会丢失。",
    },
    "to_fix": {"en": "{count} to fix", "es": "{count} por corregir", "zh": "{count} 处需修改"},
    "save": {"en": "Save draft", "es": "Guardar borrador", "zh": "保存草稿"},
    "save_next": {"en": "Save and continue", "es": "Guardar y continuar", "zh": "保存并继续"},
    "submit_help": {
        "en": "Saves this section, then sends the whole questionnaire to the review team.",
        "es": "Guarda esta sección y envía el cuestionario completo al equipo de revisión.",
        "zh": "保存本部分，然后将整份问卷提交给审核团队。",
    },
    "submit": {"en": "Submit questionnaire", "es": "Enviar cuestionario", "zh": "提交问卷"},
    "saved": {
        "en": "Draft saved: {count} answers changed.",
        "es": "Borrador guardado: {count} respuestas cambiadas.",
        "zh": "草稿已保存：更改了 {count} 个回答。",
    },
    "uploaded": {"en": "File attached: {file}", "es": "Archivo adjuntado: {file}", "zh": "文件已附上：{file}"},
    "upload_rejected": {
        "en": "{file} (question {criterion}) was not attached: {reason}",
        "es": "{file} (pregunta {criterion}) no se adjuntó: {reason}",
        "zh": "{file}（问题 {criterion}）未能附上：{reason}",
    },
    "problems": {
        "en": "The questionnaire was not submitted. Please fix:",
        "es": "El cuestionario no se envió. Corrija lo siguiente:",
        "zh": "问卷尚未提交。请修改以下内容：",
    },
    "unanswered": {
        "en": "Not answered yet: {ids}",
        "es": "Sin responder todavía: {ids}",
        "zh": "尚未回答：{ids}",
    },
    "comment_required": {
        "en": "{criterion}: a comment is required for the answer \"{value}\"",
        "es": "{criterion}: el comentario es obligatorio para la respuesta \"{value}\"",
        "zh": "{criterion}：回答“{value}”时必须填写说明",
    },
    "submitted": {
        "en": "Thank you: the questionnaire was submitted on {when}. It can no longer be changed unless the review "
              "team returns it to you.",
        "es": "Gracias: el cuestionario se envió el {when}. Ya no se puede cambiar, salvo que el equipo de revisión "
              "se lo devuelva.",
        "zh": "谢谢：问卷已于 {when} 提交。除非审核团队退回，否则无法再修改。",
    },
    "accepted": {
        "en": "The review team has accepted your answers. Thank you.",
        "es": "El equipo de revisión aceptó sus respuestas. Gracias.",
        "zh": "审核团队已接受您的回答。谢谢。",
    },
    "returned": {
        "en": "The review team returned the questionnaire with comments on {count} questions. Please update those "
              "answers and submit again.",
        "es": "El equipo de revisión devolvió el cuestionario con comentarios en {count} preguntas. Actualice esas "
              "respuestas y envíelo de nuevo.",
        "zh": "审核团队退回了问卷，并对 {count} 个问题提出了意见。请修改这些回答后重新提交。",
    },
    "read_only": {"en": "Your answers", "es": "Sus respuestas", "zh": "您的回答"},
    "offline": {"en": "Download to answer offline", "es": "Descargar para responder sin conexión",
                "zh": "下载后离线填写"},
    "offline_help": {
        "en": "Prefer Excel? Download your questionnaire (.xlsx), answer it on the sheet “Answers” and send it back "
              "to your contact by the due date, as the first sheet explains. The answers you saved here are already "
              "filled in.",
        "es": "¿Prefiere Excel? Descargue su cuestionario (.xlsx), respóndalo en la hoja “Answers” y devuélvalo a su "
              "contacto antes de la fecha límite, como explica la primera hoja. Las respuestas que guardó aquí ya "
              "están completadas.",
        "zh": "更习惯用 Excel？请下载您的问卷（.xlsx），在“Answers”工作表中作答，并按第一个工作表的说明在截止日期前"
              "发回给您的联系人。您在此处已保存的回答已预先填好。",
    },
    # Last cycle's accepted answers, shown pre-filled: they count as answered and are confirmed on submitting.
    "carried": {
        "en": "{count} of them are your answers from last time: check them; submitting confirms them.",
        "es": "{count} de ellas son sus respuestas de la vez anterior: revíselas; al enviar quedan confirmadas.",
        "zh": "其中 {count} 个是您上次的回答：请核对；提交即表示确认。",
    },
    "to_confirm": {
        "en": "Your answer from last time: change it if it is no longer true.",
        "es": "Su respuesta de la vez anterior: cámbiela si ya no es cierta.",
        "zh": "这是您上次的回答：如已不符合实际，请修改。",
    },
    "confirm_count": {"en": "{count} to confirm", "es": "{count} por confirmar", "zh": "{count} 个待确认"},
    "stale": {
        "en": "The answers to {ids} were changed elsewhere since this page was loaded, so nothing was saved. The "
              "page now shows the newer answers: check them and save again.",
        "es": "Las respuestas a {ids} se cambiaron en otro lugar desde que se cargó esta página, así que no se "
              "guardó nada. La página ya muestra las respuestas más recientes: revíselas y guarde de nuevo.",
        "zh": "自本页面加载以来，{ids} 的回答已在别处被修改，因此未保存任何内容。页面现在显示的是最新的回答：请核对后"
              "重新保存。",
    },
}

# The twelve MSC categories, by category number.
_CATEGORIES: dict[int, dict[str, str]] = {
    1: {"es": "Visión y responsabilidad de seguridad", "zh": "安全愿景与责任"},
    2: {"es": "Evaluación de riesgos", "zh": "风险评估"},
    3: {"es": "Socios comerciales", "zh": "业务合作伙伴"},
    4: {"es": "Ciberseguridad", "zh": "网络安全"},
    5: {"es": "Seguridad de medios de transporte e instrumentos de tráfico internacional",
        "zh": "运输工具及国际运输器具安全"},
    6: {"es": "Seguridad de sellos", "zh": "封条安全"},
    7: {"es": "Seguridad de procedimientos", "zh": "程序安全"},
    8: {"es": "Seguridad agrícola", "zh": "农业安全"},
    9: {"es": "Seguridad física", "zh": "实体安全"},
    10: {"es": "Controles de acceso físico", "zh": "实体出入控制"},
    11: {"es": "Seguridad del personal", "zh": "人员安全"},
    12: {"es": "Educación, capacitación y concienciación", "zh": "教育、培训与意识"},
}


def language_of(code: str | None) -> str:
    """The interface language for a stored language code (English when unknown)."""
    return code if code in LANGUAGES else "en"


def t(key: str, language: str, **values) -> str:
    """The text `key` in `language` (English when missing), with {placeholders} filled in."""
    texts = _TEXTS[key]
    text = texts.get(language) or texts["en"]
    return text.format(**values) if values else text


def category(number: int, english_name: str, language: str) -> str:
    """The category name in `language`; the English name from the catalogue otherwise."""
    return _CATEGORIES.get(int(number), {}).get(language, english_name)
